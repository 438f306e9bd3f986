package dev.reelflow.stack;

/** Placeholder: the registry server lands in the next commit. */
public final class SchemaRegistryServer implements AutoCloseable {
  private final String bootstrapServers;
  private final int port;

  private SchemaRegistryServer(Builder b) {
    this.bootstrapServers = b.bootstrapServers;
    this.port = FreePorts.orFree(b.port);
  }

  public static Builder builder(String bootstrapServers) {
    return new Builder(bootstrapServers);
  }

  public void start() {
    throw new StackException(
        "The schema registry server is not available yet (" + bootstrapServers + ")");
  }

  public void stop() {}

  @Override
  public void close() {}

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public static final class Builder {
    private final String bootstrapServers;
    private int port;

    private Builder(String bootstrapServers) {
      this.bootstrapServers = bootstrapServers;
    }

    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public SchemaRegistryServer build() {
      return new SchemaRegistryServer(this);
    }
  }
}
