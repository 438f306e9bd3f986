package dev.reelflow.stack;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Confluent Schema Registry REST API (Avro) over {@link SchemaRegistryState} and {@link
 * KafkaSchemaLog}: routing, JSON shapes and Confluent error bodies.
 */
final class RegistryHttpHandler implements HttpHandler {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryHttpHandler.class);
  static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_BODY = 4 * 1024 * 1024;

  private final SchemaRegistryState state;
  private final SchemaLog log;
  private final String expectedAuthorization;

  RegistryHttpHandler(SchemaRegistryState state, SchemaLog log, String user, String password) {
    this.state = state;
    this.log = log;
    this.expectedAuthorization =
        user == null
            ? null
            : "Basic "
                + Base64.getEncoder()
                    .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** A parsed request: method, decoded path segments, query parameters and body. */
  record Request(String method, List<String> path, Map<String, String> query, byte[] body) {
    boolean flag(String name) {
      return "true".equalsIgnoreCase(query.get(name));
    }
  }

  /** A response: HTTP status and a JSON-serializable body (or a raw string). */
  record Response(int status, Object body) {}

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    Response response;
    try {
      if (expectedAuthorization != null
          && !expectedAuthorization.equals(
              exchange.getRequestHeaders().getFirst("Authorization"))) {
        exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"schema-registry\"");
        response = error(new RegistryException(401, 401, "Unauthorized"));
      } else {
        response = handle(parse(exchange));
      }
    } catch (RegistryException e) {
      response = error(e);
    } catch (RuntimeException e) {
      LOG.error(
          "Registry request {} {} failed",
          exchange.getRequestMethod(),
          exchange.getRequestURI(),
          e);
      response = error(RegistryException.storeError(e.toString()));
    }
    byte[] bytes =
        response.body() instanceof String raw
            ? raw.getBytes(StandardCharsets.UTF_8)
            : JSON.writeValueAsBytes(response.body());
    exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
    exchange.sendResponseHeaders(response.status(), bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static Response error(RegistryException e) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error_code", e.errorCode());
    body.put("message", e.getMessage());
    return new Response(e.httpStatus(), body);
  }

  private static Request parse(HttpExchange exchange) throws IOException, RegistryException {
    List<String> path = new ArrayList<>();
    for (String segment : exchange.getRequestURI().getRawPath().split("/")) {
      if (!segment.isEmpty()) {
        path.add(URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8));
      }
    }
    Map<String, String> query = new HashMap<>();
    String rawQuery = exchange.getRequestURI().getRawQuery();
    if (rawQuery != null) {
      for (String pair : rawQuery.split("&")) {
        int eq = pair.indexOf('=');
        String k = eq < 0 ? pair : pair.substring(0, eq);
        String v = eq < 0 ? "" : pair.substring(eq + 1);
        query.put(
            URLDecoder.decode(k, StandardCharsets.UTF_8),
            URLDecoder.decode(v, StandardCharsets.UTF_8));
      }
    }
    byte[] body;
    try (InputStream in = exchange.getRequestBody()) {
      body = in.readNBytes(MAX_BODY + 1);
    }
    if (body.length > MAX_BODY) {
      throw new RegistryException(413, 413, "Request body larger than " + MAX_BODY + " bytes");
    }
    return new Request(exchange.getRequestMethod(), path, query, body);
  }

  /** Routes one request; package-private so that unit tests can call it without HTTP. */
  Response handle(Request r) throws RegistryException {
    List<String> p = r.path();
    String m = r.method();
    int n = p.size();
    if (n == 0) {
      return ok(Map.of());
    }
    switch (p.get(0)) {
      case "schemas":
        if (n == 2 && p.get(1).equals("types") && m.equals("GET")) {
          return ok(List.of("AVRO"));
        }
        if (n >= 3 && p.get(1).equals("ids") && m.equals("GET")) {
          int id = parseId(p.get(2));
          if (n == 3) {
            return ok(Map.of("schema", schemaById(id)));
          }
          if (n == 4 && p.get(3).equals("schema")) {
            return new Response(200, schemaById(id));
          }
          if (n == 4 && p.get(3).equals("versions")) {
            schemaById(id);
            List<Map<String, Object>> out = new ArrayList<>();
            synchronized (state) {
              for (SchemaRegistryState.VersionView v : state.usesOf(id)) {
                out.add(Map.of("subject", v.subject(), "version", v.version()));
              }
            }
            return ok(out);
          }
          if (n == 4 && p.get(3).equals("subjects")) {
            schemaById(id);
            synchronized (state) {
              return ok(
                  state.usesOf(id).stream()
                      .map(SchemaRegistryState.VersionView::subject)
                      .distinct()
                      .toList());
            }
          }
        }
        break;
      case "subjects":
        return subjects(r, p, m, n);
      case "config":
        return config(r, p, m, n);
      case "compatibility":
        if (n >= 4
            && p.get(1).equals("subjects")
            && p.get(3).equals("versions")
            && m.equals("POST")) {
          String subject = p.get(2);
          Integer version = n == 5 ? parseVersion(p.get(4)) : null;
          if (n > 5) {
            break;
          }
          String schema = schemaField(r);
          log.awaitCaughtUp();
          List<String> problems;
          synchronized (state) {
            problems = state.compatibilityProblems(subject, version, schema);
          }
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("is_compatible", problems.isEmpty());
          if (r.flag("verbose")) {
            body.put("messages", problems);
          }
          return ok(body);
        }
        break;
      case "mode":
        if (m.equals("GET")) {
          return ok(Map.of("mode", "READWRITE"));
        }
        break;
      default:
        break;
    }
    throw new RegistryException(404, 404, "HTTP 404 Not Found");
  }

  private Response subjects(Request r, List<String> p, String m, int n) throws RegistryException {
    if (n == 1 && m.equals("GET")) {
      log.awaitCaughtUp();
      synchronized (state) {
        return ok(state.subjects(r.flag("deleted")));
      }
    }
    if (n < 2) {
      throw new RegistryException(405, 405, "HTTP 405 Method Not Allowed");
    }
    String subject = p.get(1);
    if (n == 2) {
      switch (m) {
        case "POST":
          {
            String schema = schemaField(r);
            log.awaitCaughtUp();
            SchemaRegistryState.VersionView v;
            synchronized (state) {
              v = state.lookup(subject, schema, r.flag("deleted"));
            }
            return ok(view(v));
          }
        case "DELETE":
          return ok(log.submit(RegistryCommand.deleteSubject(subject, r.flag("permanent"))));
        default:
          throw new RegistryException(405, 405, "HTTP 405 Method Not Allowed");
      }
    }
    if (!p.get(2).equals("versions")) {
      throw new RegistryException(404, 404, "HTTP 404 Not Found");
    }
    if (n == 3) {
      switch (m) {
        case "GET":
          log.awaitCaughtUp();
          synchronized (state) {
            return ok(state.versions(subject, r.flag("deleted")));
          }
        case "POST":
          {
            String schema = schemaField(r);
            SchemaRegistryState.parse(schema); // fail fast with 42201, before touching the log
            SchemaRegistryState.Registered reg =
                (SchemaRegistryState.Registered)
                    log.submit(RegistryCommand.register(subject, schema));
            return ok(Map.of("id", reg.id()));
          }
        default:
          throw new RegistryException(405, 405, "HTTP 405 Method Not Allowed");
      }
    }
    int version = parseVersion(p.get(3));
    if (n == 4 && m.equals("DELETE")) {
      return ok(log.submit(RegistryCommand.deleteVersion(subject, version, r.flag("permanent"))));
    }
    if (m.equals("GET") && (n == 4 || (n == 5 && p.get(4).equals("schema")))) {
      log.awaitCaughtUp();
      SchemaRegistryState.VersionView v;
      synchronized (state) {
        v = state.version(subject, version, r.flag("deleted"));
      }
      return n == 4 ? ok(view(v)) : new Response(200, v.schema());
    }
    if (m.equals("GET") && n == 5 && p.get(4).equals("referencedby")) {
      log.awaitCaughtUp();
      synchronized (state) {
        state.version(subject, version, false);
      }
      return ok(List.of()); // schema references are not supported, so nothing refers to it
    }
    throw new RegistryException(404, 404, "HTTP 404 Not Found");
  }

  private Response config(Request r, List<String> p, String m, int n) throws RegistryException {
    if (n > 2) {
      throw new RegistryException(404, 404, "HTTP 404 Not Found");
    }
    String subject = n == 2 ? p.get(1) : null;
    switch (m) {
      case "GET":
        {
          log.awaitCaughtUp();
          CompatibilityLevel level;
          synchronized (state) {
            level = subject == null ? state.globalLevel() : state.subjectLevel(subject);
            if (level == null && r.flag("defaultToGlobal")) {
              level = state.globalLevel();
            }
          }
          if (level == null) {
            throw SchemaRegistryState.subjectLevelNotConfigured(subject);
          }
          return ok(Map.of("compatibilityLevel", level.name()));
        }
      case "PUT":
        {
          JsonNode body = body(r);
          JsonNode field =
              body.has("compatibility")
                  ? body.get("compatibility")
                  : body.get("compatibilityLevel");
          CompatibilityLevel level =
              CompatibilityLevel.parse(field == null || field.isNull() ? null : field.asText());
          log.submit(RegistryCommand.setConfig(subject, level));
          return ok(Map.of("compatibility", level.name()));
        }
      case "DELETE":
        {
          if (subject == null) {
            throw new RegistryException(405, 405, "HTTP 405 Method Not Allowed");
          }
          CompatibilityLevel old =
              (CompatibilityLevel) log.submit(RegistryCommand.deleteConfig(subject));
          return ok(Map.of("compatibilityLevel", old.name()));
        }
      default:
        throw new RegistryException(405, 405, "HTTP 405 Method Not Allowed");
    }
  }

  private String schemaById(int id) throws RegistryException {
    synchronized (state) {
      if (state.hasSchemaId(id)) {
        return state.schemaById(id);
      }
    }
    log.awaitCaughtUp(); // another instance may have registered it a moment ago
    synchronized (state) {
      return state.schemaById(id);
    }
  }

  private static Map<String, Object> view(SchemaRegistryState.VersionView v) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("subject", v.subject());
    out.put("version", v.version());
    out.put("id", v.id());
    out.put("schema", v.schema());
    return out;
  }

  private static Response ok(Object body) {
    return new Response(200, body);
  }

  private static JsonNode body(Request r) throws RegistryException {
    try {
      JsonNode node = JSON.readTree(r.body());
      if (node == null || !node.isObject()) {
        throw RegistryException.badRequest("Request body must be a JSON object");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw RegistryException.badRequest("Malformed JSON body: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw RegistryException.badRequest("Unreadable body: " + e);
    }
  }

  /** The {@code schema} field of a register/lookup/compatibility request (Avro only). */
  private static String schemaField(Request r) throws RegistryException {
    JsonNode body = body(r);
    JsonNode type = body.get("schemaType");
    if (type != null && !type.isNull() && !"AVRO".equalsIgnoreCase(type.asText())) {
      throw RegistryException.invalidSchema(
          "type " + type.asText() + ": this registry supports AVRO schemas only");
    }
    JsonNode refs = body.get("references");
    if (refs != null && refs.isArray() && !refs.isEmpty()) {
      throw RegistryException.invalidSchema("references: schema references are not supported");
    }
    JsonNode schema = body.get("schema");
    if (schema == null || !schema.isTextual()) {
      throw RegistryException.invalidSchema(
          "(missing): the request needs a \"schema\" string field");
    }
    return schema.asText();
  }

  private static int parseId(String text) throws RegistryException {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw RegistryException.schemaNotFound("Schema " + text + " not found");
    }
  }

  /** "latest" or -1 → -1; 1..2^31-1 → itself; anything else is 42202. */
  static int parseVersion(String text) throws RegistryException {
    if ("latest".equals(text)) {
      return -1;
    }
    try {
      int v = Integer.parseInt(text);
      if (v == -1 || v >= 1) {
        return v;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw RegistryException.invalidVersion(text);
  }
}
