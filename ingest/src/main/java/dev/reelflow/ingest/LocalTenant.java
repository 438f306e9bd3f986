package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The one tenant and key of the local default stack. {@link #ensure(Path)} creates, once, {@code
 * local.json} (tenant, plain API key, webhook secret: for the local user's scripts) and {@code
 * api-keys.json} (the hashed key file ingest reads) in the given directory, conventionally {@code
 * .reelflow/} in the working directory, and returns what is there on later runs.
 */
public final class LocalTenant {
  public static final String DEFAULT_TENANT = "demo";

  private final String tenant;
  private final String apiKey;
  private final String webhookSecret;
  private final Path apiKeysFile;

  private LocalTenant(String tenant, String apiKey, String webhookSecret, Path apiKeysFile) {
    this.tenant = tenant;
    this.apiKey = apiKey;
    this.webhookSecret = webhookSecret;
    this.apiKeysFile = apiKeysFile;
  }

  public static LocalTenant ensure(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Files.createDirectories(dir);
    Path local = dir.resolve("local.json");
    Path keys = dir.resolve("api-keys.json");
    if (Files.exists(local) && Files.exists(keys)) {
      JsonNode n = json.readTree(local.toFile());
      return new LocalTenant(
          n.path("tenant").asText(DEFAULT_TENANT),
          n.path("apiKey").asText(),
          n.path("webhookSecret").asText(),
          keys);
    }
    String key = ApiKeys.newKey();
    String secret = "whsec_" + Ids.randomToken(24);
    ObjectNode l = json.createObjectNode();
    l.put("tenant", DEFAULT_TENANT).put("apiKey", key).put("webhookSecret", secret);
    l.put("apiKeysFile", keys.getFileName().toString());
    ObjectNode k = json.createObjectNode();
    ObjectNode t = k.putArray("tenants").addObject();
    t.put("tenant", DEFAULT_TENANT).put("webhookSecret", secret);
    t.putArray("keys").add("sha256:" + ApiKeys.hash(key));
    writePrivate(keys, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(k));
    writePrivate(local, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(l));
    return new LocalTenant(DEFAULT_TENANT, key, secret, keys);
  }

  private static void writePrivate(Path file, byte[] bytes) throws IOException {
    Files.write(file, bytes);
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system (Windows): the directory's ACL applies instead.
    }
  }

  public String tenant() {
    return tenant;
  }

  public String apiKey() {
    return apiKey;
  }

  public String webhookSecret() {
    return webhookSecret;
  }

  /** The hashed key file to pass as {@code ingest.api-keys-file}. */
  public Path apiKeysFile() {
    return apiKeysFile;
  }
}
