package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * API keys, stored only as SHA-256 hashes, mapped to tenants.
 *
 * <p>The key file is JSON:
 *
 * <pre>{@code
 * {"tenants": [
 *   {"tenant": "demo",
 *    "keys": ["sha256:<64 hex chars>", ...],
 *    "webhookSecret": "<secret used for the HMAC-SHA256 signature of webhooks>",
 *    "rateLimitPerSecond": 50, "burst": 100, "maxInFlight": 100000}   // optional overrides
 * ]}
 * }</pre>
 *
 * Keys are random 256-bit tokens ({@link #newKey()}), so an unsalted SHA-256 is enough: the hash
 * can't be inverted by guessing. Inline entries ({@code ingest.api-keys}) read {@code
 * tenant:sha256hex[:webhookSecret]}, comma-separated.
 */
public final class ApiKeys {
  private static final Pattern TENANT = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

  private final Map<String, Tenant> byHash;
  private final Map<String, Tenant> byTenant;

  private ApiKeys(Map<String, Tenant> byHash) {
    this.byHash = Map.copyOf(byHash);
    Map<String, Tenant> t = new HashMap<>();
    byHash.values().forEach(x -> t.put(x.id(), x));
    this.byTenant = Map.copyOf(t);
  }

  /** Lower-case hex SHA-256 of an API key, as the key file stores it (without the prefix). */
  public static String hash(String apiKey) {
    return HexFormat.of().formatHex(Ids.sha256(apiKey.getBytes(StandardCharsets.UTF_8)));
  }

  /** A new random API key ({@code rf_} + 43 base64url characters). */
  public static String newKey() {
    return "rf_" + Ids.randomToken(32);
  }

  static ApiKeys load(IngestConfig config) throws IOException {
    Map<String, Tenant> byHash = new LinkedHashMap<>();
    String file = config.get(IngestConfig.API_KEYS_FILE);
    if (!file.isBlank()) {
      readFile(Path.of(file), config, byHash);
    }
    String inline = config.get(IngestConfig.API_KEYS);
    if (!inline.isBlank()) {
      for (String entry : inline.split(",")) {
        String[] parts = entry.trim().split(":", 3);
        if (parts.length < 2) {
          throw new IllegalArgumentException(
              IngestConfig.API_KEYS
                  + " entries read tenant:sha256hex[:webhookSecret], got '"
                  + parts[0]
                  + ":...'");
        }
        String hex = parts[1].startsWith("sha256") ? parts[1].substring(6) : parts[1];
        Tenant t = tenant(parts[0].trim(), parts.length > 2 ? parts[2] : "", null, config);
        put(byHash, hex.trim(), t);
      }
    }
    return new ApiKeys(byHash);
  }

  static ApiKeys of(Map<String, Tenant> keyToTenant) {
    Map<String, Tenant> byHash = new LinkedHashMap<>();
    keyToTenant.forEach((key, t) -> byHash.put(hash(key), t));
    return new ApiKeys(byHash);
  }

  private static void readFile(Path file, IngestConfig config, Map<String, Tenant> byHash)
      throws IOException {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new IOException("Cannot read API key file " + file + ": " + e.getMessage(), e);
    }
    JsonNode tenants = root == null ? null : root.get("tenants");
    if (tenants == null || !tenants.isArray()) {
      throw new IllegalArgumentException(
          "API key file " + file + " must be a JSON object with a \"tenants\" array");
    }
    for (JsonNode t : tenants) {
      String id = t.path("tenant").asText("");
      Tenant tenant = tenant(id, t.path("webhookSecret").asText(""), t, config);
      JsonNode keys = t.get("keys");
      if (keys == null || !keys.isArray() || keys.isEmpty()) {
        throw new IllegalArgumentException(
            "Tenant '" + id + "' in " + file + " needs a non-empty \"keys\" array of sha256:<hex>");
      }
      for (JsonNode k : keys) {
        String v = k.asText("");
        put(byHash, v.startsWith("sha256:") ? v.substring(7) : v, tenant);
      }
    }
  }

  private static Tenant tenant(String id, String secret, JsonNode overrides, IngestConfig config) {
    if (!TENANT.matcher(id).matches()) {
      throw new IllegalArgumentException(
          "Tenant id '" + id + "' must match " + TENANT.pattern() + " (it becomes a key prefix)");
    }
    double rate = config.doubleValue(IngestConfig.RATE_PER_SECOND);
    int burst = config.intValue(IngestConfig.RATE_BURST);
    long inFlight = config.longValue(IngestConfig.MAX_IN_FLIGHT);
    if (overrides != null) {
      rate = overrides.path("rateLimitPerSecond").asDouble(rate);
      burst = overrides.path("burst").asInt(burst);
      inFlight = overrides.path("maxInFlight").asLong(inFlight);
    }
    return new Tenant(id, secret, rate, burst, inFlight);
  }

  private static void put(Map<String, Tenant> byHash, String hex, Tenant t) {
    String h = hex.toLowerCase(java.util.Locale.ROOT);
    if (!HEX64.matcher(h).matches()) {
      throw new IllegalArgumentException(
          "API key hash for tenant '" + t.id() + "' must be 64 hex characters (SHA-256)");
    }
    byHash.put(h, t);
  }

  /** The tenant of a presented key, if the key is known. */
  Optional<Tenant> authenticate(String presentedKey) {
    if (presentedKey == null || presentedKey.isEmpty() || presentedKey.length() > 512) {
      return Optional.empty();
    }
    return Optional.ofNullable(byHash.get(hash(presentedKey)));
  }

  Optional<Tenant> tenant(String id) {
    return Optional.ofNullable(byTenant.get(id));
  }

  int size() {
    return byHash.size();
  }
}
