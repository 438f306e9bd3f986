package dev.reelflow.stack;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Addresses and credentials of a running {@link LocalStack}, as written to {@code
 * .reelflow/local.json} so that tools and scripts can find the services.
 *
 * <p>Keys (absent when the service is not part of the stack): {@code kafka.bootstrapServers},
 * {@code schemaRegistry.url}, {@code s3.endpoint}, {@code s3.accessKey}, {@code s3.secretKey},
 * {@code s3.region}, {@code s3.bucket}, {@code workDir}. Extra entries (the CLI's default API key,
 * for example) can be added with {@link #with(String, String)}.
 */
public final class LocalStackInfo {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Map<String, String> values;

  LocalStackInfo(Map<String, String> values) {
    this.values = Map.copyOf(values);
  }

  /** All entries in a stable order (dotted keys, see the class comment). */
  public Map<String, String> toMap() {
    return new java.util.TreeMap<>(values);
  }

  /** The value of a key, or null. */
  public String get(String key) {
    return values.get(key);
  }

  /** A copy with one more entry (e.g. {@code ingest.apiKey}). */
  public LocalStackInfo with(String key, String value) {
    Map<String, String> copy = new LinkedHashMap<>(values);
    copy.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    return new LocalStackInfo(copy);
  }

  /**
   * The entries as nested JSON: {@code {"kafka":{"bootstrapServers":...},"s3":{...}}}. Written
   * atomically (temp file, then move) so that a reader never sees half a file.
   */
  public void writeTo(Path file) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, "local", ".json.tmp");
      JSON.writeValue(tmp.toFile(), nested());
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new StackException("Could not write the stack description to " + file, e);
    }
  }

  /** Human-readable lines, one per entry, for printing at startup. */
  public String describe() {
    StringBuilder out = new StringBuilder();
    toMap().forEach((k, v) -> out.append(String.format("  %-26s %s%n", k, v)));
    return out.toString();
  }

  @SuppressWarnings("unchecked")
  Map<String, Object> nested() {
    Map<String, Object> root = new java.util.TreeMap<>();
    for (Map.Entry<String, String> e : toMap().entrySet()) {
      String[] parts = e.getKey().split("\\.");
      Map<String, Object> node = root;
      for (int i = 0; i < parts.length - 1; i++) {
        Object child = node.computeIfAbsent(parts[i], k -> new java.util.TreeMap<String, Object>());
        if (!(child instanceof Map)) {
          throw new IllegalStateException("Key " + e.getKey() + " clashes with a value");
        }
        node = (Map<String, Object>) child;
      }
      node.put(parts[parts.length - 1], e.getValue());
    }
    return root;
  }

  @Override
  public String toString() {
    // Never print secrets by accident in logs.
    Map<String, String> safe = toMap();
    safe.computeIfPresent("s3.secretKey", (k, v) -> "****");
    return "LocalStackInfo" + safe;
  }
}
