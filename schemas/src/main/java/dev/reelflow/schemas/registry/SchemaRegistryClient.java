package dev.reelflow.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the Confluent Schema Registry REST API (also spoken by Karapace, Apicurio's
 * Confluent-compatible API and ReelFlow's embedded registry), for Avro schemas.
 *
 * <p>Thread-safe. Ids and schemas are immutable in the registry, so id&lt;-&gt;schema and (subject,
 * schema)-&gt;id answers are cached locally and never expire. 5xx answers and connection errors are
 * retried with exponential backoff, moving to the next configured URL on connection errors; 4xx
 * answers raise a {@link SchemaRegistryException} at once, carrying Confluent's {@code error_code}.
 */
public final class SchemaRegistryClient {
  private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryClient.class);
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SchemaRegistryConfig config;
  private final HttpClient http;
  private final String authorization;
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
  private volatile int preferredUrl;

  /** A schema as registered under a subject. */
  public record RegisteredSchema(String subject, int version, int id, Schema schema) {}

  public SchemaRegistryClient(SchemaRegistryConfig config) {
    this.config = config;
    this.http = HttpClient.newBuilder().connectTimeout(config.connectTimeout()).build();
    this.authorization =
        config.basicAuthUserInfo() == null
            ? null
            : "Basic "
                + Base64.getEncoder()
                    .encodeToString(config.basicAuthUserInfo().getBytes(StandardCharsets.UTF_8));
  }

  /** A client of one URL with default settings. */
  public static SchemaRegistryClient create(String url) {
    return new SchemaRegistryClient(SchemaRegistryConfig.of(url));
  }

  public SchemaRegistryConfig config() {
    return config;
  }

  /**
   * Registers a schema under a subject ({@code POST /subjects/{subject}/versions}); answers the
   * existing id when the schema is already there.
   *
   * @return the global schema id
   * @throws SchemaRegistryException 409 when incompatible with the subject's level, 42201 when
   *     invalid
   */
  public int register(String subject, Schema schema) {
    Integer cached = cachedId(subject, schema);
    if (cached != null) {
      return cached;
    }
    JsonNode body = call("POST", "/subjects/" + encode(subject) + "/versions", schemaBody(schema));
    int id = body.path("id").asInt(-1);
    remember(subject, schema, id);
    return id;
  }

  /**
   * The schema with a global id ({@code GET /schemas/ids/{id}}).
   *
   * @throws SchemaRegistryException 404 / 40403 when the id is unknown
   */
  public Schema getById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode body = call("GET", "/schemas/ids/" + id, null);
    Schema schema = parse(body.path("schema").asText(), "id " + id);
    Schema previous = schemasById.putIfAbsent(id, schema);
    return previous == null ? schema : previous;
  }

  /**
   * One version of a subject ({@code GET /subjects/{subject}/versions/{version}}).
   *
   * @throws SchemaRegistryException 40401 unknown subject, 40402 unknown version
   */
  public RegisteredSchema getBySubjectVersion(String subject, int version) {
    return registered(
        call("GET", "/subjects/" + encode(subject) + "/versions/" + version, null), subject);
  }

  /** The latest version of a subject ({@code GET /subjects/{subject}/versions/latest}). */
  public RegisteredSchema latest(String subject) {
    return registered(
        call("GET", "/subjects/" + encode(subject) + "/versions/latest", null), subject);
  }

  /**
   * Finds a schema under a subject without registering it ({@code POST /subjects/{subject}}).
   *
   * @throws SchemaRegistryException 40401 unknown subject, 40403 schema not registered there
   */
  public RegisteredSchema lookup(String subject, Schema schema) {
    RegisteredSchema r =
        registered(call("POST", "/subjects/" + encode(subject), schemaBody(schema)), subject);
    remember(subject, schema, r.id());
    return r;
  }

  /**
   * The id of a schema under a subject: from the cache, else by {@link #lookup}.
   *
   * @throws SchemaRegistryException as {@link #lookup}
   */
  public int idOf(String subject, Schema schema) {
    Integer cached = cachedId(subject, schema);
    return cached != null ? cached : lookup(subject, schema).id();
  }

  /**
   * Whether a schema could be registered as the subject's next version under its compatibility
   * level ({@code POST /compatibility/subjects/{subject}/versions/latest}). True for a subject with
   * no versions yet.
   */
  public boolean testCompatibility(String subject, Schema schema) {
    try {
      return testCompatibility(subject, "latest", schema);
    } catch (SchemaRegistryException e) {
      if (e.errorCode() == SchemaRegistryException.SUBJECT_NOT_FOUND
          || e.errorCode() == SchemaRegistryException.VERSION_NOT_FOUND) {
        return true;
      }
      throw e;
    }
  }

  /** Compatibility against one version ({@code latest} or a number). */
  public boolean testCompatibility(String subject, String version, Schema schema) {
    JsonNode body =
        call(
            "POST",
            "/compatibility/subjects/" + encode(subject) + "/versions/" + encode(version),
            schemaBody(schema));
    return body.path("is_compatible").asBoolean(false);
  }

  /** Every subject ({@code GET /subjects}). */
  public List<String> subjects() {
    List<String> out = new ArrayList<>();
    call("GET", "/subjects", null).forEach(n -> out.add(n.asText()));
    return out;
  }

  /** Versions of a subject ({@code GET /subjects/{subject}/versions}). */
  public List<Integer> versions(String subject) {
    List<Integer> out = new ArrayList<>();
    call("GET", "/subjects/" + encode(subject) + "/versions", null)
        .forEach(n -> out.add(n.asInt()));
    return out;
  }

  /** Global compatibility level ({@code GET /config}), e.g. {@code BACKWARD}. */
  public String getConfig() {
    return level(call("GET", "/config", null));
  }

  /**
   * Compatibility level of a subject, falling back to the global level when the subject has none
   * ({@code GET /config/{subject}?defaultToGlobal=true}).
   */
  public String getConfig(String subject) {
    return level(call("GET", "/config/" + encode(subject) + "?defaultToGlobal=true", null));
  }

  /** Sets the global compatibility level ({@code PUT /config}); returns the level set. */
  public String putConfig(String level) {
    return level(call("PUT", "/config", levelBody(level)));
  }

  /** Sets a subject's compatibility level ({@code PUT /config/{subject}}). */
  public String putConfig(String subject, String level) {
    return level(call("PUT", "/config/" + encode(subject), levelBody(level)));
  }

  private static String level(JsonNode body) {
    JsonNode n = body.has("compatibilityLevel") ? body.get("compatibilityLevel") : body;
    return n.has("compatibility") ? n.get("compatibility").asText() : n.asText();
  }

  private static String levelBody(String level) {
    if (level == null || level.isBlank()) {
      throw new IllegalArgumentException(
          "compatibility level is blank; use NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD,"
              + " FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE");
    }
    return JSON.createObjectNode().put("compatibility", level.trim()).toString();
  }

  private RegisteredSchema registered(JsonNode body, String subject) {
    int id = body.path("id").asInt(-1);
    Schema schema = parse(body.path("schema").asText(), subject);
    schemasById.putIfAbsent(id, schema);
    return new RegisteredSchema(
        body.path("subject").asText(subject), body.path("version").asInt(-1), id, schema);
  }

  private Integer cachedId(String subject, Schema schema) {
    Map<Schema, Integer> ids = idsBySubject.get(subject);
    return ids == null ? null : ids.get(schema);
  }

  private void remember(String subject, Schema schema, int id) {
    idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(schema, id);
    schemasById.putIfAbsent(id, schema);
  }

  private static Schema parse(String text, String what) {
    try {
      return new Schema.Parser().parse(text);
    } catch (SchemaParseException e) {
      throw new SchemaRegistryException(
          200, -1, "registry answered a schema for " + what + " that Avro cannot parse", e);
    }
  }

  private static String schemaBody(Schema schema) {
    ObjectNode n = JSON.createObjectNode();
    n.put("schema", schema.toString());
    return n.toString();
  }

  static String encode(String segment) {
    if (segment == null || segment.isEmpty()) {
      throw new IllegalArgumentException("subject is empty");
    }
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** One REST call with retries on 5xx and connection errors, fail-over between URLs. */
  private JsonNode call(String method, String path, String body) {
    List<String> urls = config.urls();
    long backoff = config.retryBackoff().toMillis();
    int attempts = config.maxRetries() + 1;
    SchemaRegistryException last = null;
    for (int attempt = 1; attempt <= attempts; attempt++) {
      int urlIndex = preferredUrl % urls.size();
      String url = urls.get(urlIndex) + path;
      try {
        HttpResponse<String> response = http.send(request(method, url, body), ofString());
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
          return response.body() == null || response.body().isEmpty()
              ? JSON.nullNode()
              : JSON.readTree(response.body());
        }
        last = failure(method, url, status, response.body());
        if (status < 500) {
          throw last;
        }
      } catch (IOException e) {
        last =
            new SchemaRegistryException(
                -1,
                -1,
                "schema registry at "
                    + urls.get(urlIndex)
                    + " cannot be reached ("
                    + e
                    + "); check "
                    + SchemaRegistryConfig.URL
                    + " and that the registry is running",
                e);
        preferredUrl = (urlIndex + 1) % urls.size();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryException(-1, -1, "interrupted while calling " + url, e);
      }
      if (attempt < attempts) {
        LOG.warn(
            "{} {} failed (try {}/{}), retrying in {} ms: {}",
            method,
            url,
            attempt,
            attempts,
            backoff,
            last.getMessage());
        sleep(backoff);
        backoff = Math.min(backoff * 2, config.retryBackoffMax().toMillis());
      }
    }
    throw last;
  }

  private static HttpResponse.BodyHandler<String> ofString() {
    return HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8);
  }

  private HttpRequest request(String method, String url, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(config.requestTimeout())
            .header("Accept", CONTENT_TYPE + ", application/json");
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    if (body == null) {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", CONTENT_TYPE);
      b.method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    }
    return b.build();
  }

  private static SchemaRegistryException failure(
      String method, String url, int status, String body) {
    int code = -1;
    String message = body;
    try {
      JsonNode n = JSON.readTree(body);
      code = n.path("error_code").asInt(-1);
      if (n.hasNonNull("message")) {
        message = n.get("message").asText();
      }
    } catch (IOException | RuntimeException e) {
      // Not Confluent's JSON error body (e.g. a proxy's HTML page): keep the raw text.
    }
    return new SchemaRegistryException(
        status,
        code,
        method
            + " "
            + url
            + " answered "
            + status
            + (code > 0 ? " (error " + code + ")" : "")
            + ": "
            + message
            + hint(status, code));
  }

  private static String hint(int status, int code) {
    if (status == 401 || status == 403) {
      return "; check " + SchemaRegistryConfig.BASIC_AUTH_USER_INFO;
    }
    if (code == SchemaRegistryException.INCOMPATIBLE_SCHEMA || status == 409) {
      return "; make the change compatible (add defaults to new fields) or change the subject's"
          + " compatibility level";
    }
    return "";
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SchemaRegistryException(-1, -1, "interrupted while waiting to retry", e);
    }
  }
}
