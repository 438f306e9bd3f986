package dev.reelflow.stack;

import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that starts a {@link LocalStack} once per test class and stops it afterwards,
 * deleting its temporary work directory.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final LocalStackExtension STACK =
 *     LocalStackExtension.builder().kafka().registry().s3().build();
 *
 * @Test
 * void roundTrip() {
 *   String bootstrap = STACK.stack().bootstrapServers();
 * }
 * }</pre>
 *
 * <p>Register it on a {@code static} field: the stack starts in {@code beforeAll}. Test methods and
 * constructors may also declare a {@link LocalStack} parameter. Nested test classes share the outer
 * class's stack.
 */
public final class LocalStackExtension
    implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
  private final boolean kafka;
  private final boolean registry;
  private final boolean s3;
  private final String bucket;
  private final Path workDir;
  private LocalStack stack;
  private int users;

  private LocalStackExtension(Builder b) {
    this.kafka = b.kafka;
    this.registry = b.registry;
    this.s3 = b.s3;
    this.bucket = b.bucket;
    this.workDir = b.workDir;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The running stack; only valid between this class's beforeAll and afterAll. */
  public synchronized LocalStack stack() {
    if (stack == null) {
      throw new IllegalStateException(
          "The LocalStack is not running: register LocalStackExtension on a static field with"
              + " @RegisterExtension, and use stack() only inside tests or @BeforeAll methods");
    }
    return stack;
  }

  @Override
  public synchronized void beforeAll(ExtensionContext context) {
    if (users++ > 0) {
      return;
    }
    LocalStack.Builder b = LocalStack.builder().bucket(bucket);
    if (workDir != null) {
      b.workDir(workDir);
    }
    if (kafka) {
      b.kafka();
    }
    if (registry) {
      b.registry();
    }
    if (s3) {
      b.s3();
    }
    LocalStack started = b.build();
    try {
      started.start();
    } catch (RuntimeException e) {
      users--;
      started.close();
      throw e;
    }
    stack = started;
  }

  @Override
  public synchronized void afterAll(ExtensionContext context) {
    if (--users > 0 || stack == null) {
      return;
    }
    LocalStack running = stack;
    stack = null;
    running.close();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context)
      throws ParameterResolutionException {
    return parameter.getParameter().getType() == LocalStack.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context)
      throws ParameterResolutionException {
    return stack();
  }

  /** Chooses the services of the stack. */
  public static final class Builder {
    private boolean kafka;
    private boolean registry;
    private boolean s3;
    private String bucket = "reelflow";
    private Path workDir;

    private Builder() {}

    public Builder kafka() {
      this.kafka = true;
      return this;
    }

    /** The schema registry; also starts the broker it stores schemas in. */
    public Builder registry() {
      this.kafka = true;
      this.registry = true;
      return this;
    }

    public Builder s3() {
      this.s3 = true;
      return this;
    }

    public Builder all() {
      return kafka().registry().s3();
    }

    public Builder bucket(String bucket) {
      this.bucket = bucket;
      return this;
    }

    /** A fixed work directory that is kept afterwards (default: a temp dir, deleted). */
    public Builder workDir(Path workDir) {
      this.workDir = workDir;
      return this;
    }

    public LocalStackExtension build() {
      if (!kafka && !s3) {
        throw new IllegalStateException("Choose at least one service: kafka(), registry(), s3()");
      }
      return new LocalStackExtension(this);
    }
  }
}
