package dev.reelflow.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaParseException;

/**
 * EMULATED schema registry for unit tests: an in-memory subset of the Confluent REST API on the
 * JDK's HTTP server (register, ids, versions, lookup, compatibility under BACKWARD, config), with
 * fault injection (the next N answers fail with a status). The real registry server of ops/stack is
 * exercised by the ITs.
 */
public final class EmulatedRegistry implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final Map<String, Integer> idsBySchema = new ConcurrentHashMap<>();
  private final Map<Integer, String> schemasById = new ConcurrentHashMap<>();
  private final Map<String, List<Integer>> subjects = new ConcurrentHashMap<>();
  private final AtomicInteger nextId = new AtomicInteger(1);
  private final AtomicInteger failuresLeft = new AtomicInteger();
  private volatile int failureStatus = 503;
  private volatile String compatibility = "BACKWARD";
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final List<String> authorizations = new CopyOnWriteArrayList<>();

  public EmulatedRegistry() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** The next {@code n} requests are answered with {@code status}. */
  public void failNext(int n, int status) {
    failureStatus = status;
    failuresLeft.set(n);
  }

  /** "METHOD path" of every request received. */
  public List<String> requests() {
    return requests;
  }

  /** Authorization header of every request (empty string when none). */
  public List<String> authorizations() {
    return authorizations;
  }

  /** Registers directly (bypassing compatibility), as an older producer would have. */
  public int registerDirect(String subject, Schema schema) {
    return register(subject, schema.toString());
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private synchronized int register(String subject, String schemaText) {
    Schema parsed = new Schema.Parser().parse(schemaText);
    String canonical = parsed.toString();
    int id = idsBySchema.computeIfAbsent(canonical, s -> nextId.getAndIncrement());
    schemasById.put(id, canonical);
    List<Integer> versions = subjects.computeIfAbsent(subject, s -> new CopyOnWriteArrayList<>());
    if (!versions.contains(id)) {
      versions.add(id);
    }
    return id;
  }

  private void handle(HttpExchange ex) throws IOException {
    String method = ex.getRequestMethod();
    String raw = ex.getRequestURI().getRawPath();
    requests.add(method + " " + raw);
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    authorizations.add(auth == null ? "" : auth);
    if (failuresLeft.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
      send(ex, failureStatus, error(failureStatus * 100 + 1, "injected failure"));
      return;
    }
    String[] p = raw.substring(1).split("/");
    for (int i = 0; i < p.length; i++) {
      p[i] = URLDecoder.decode(p[i], StandardCharsets.UTF_8);
    }
    byte[] bodyBytes = ex.getRequestBody().readAllBytes();
    JsonNode body = bodyBytes.length == 0 ? null : JSON.readTree(bodyBytes);
    try {
      route(ex, method, p, body);
    } catch (SchemaParseException e) {
      send(ex, 422, error(42201, "Invalid schema: " + e.getMessage()));
    }
  }

  private void route(HttpExchange ex, String method, String[] p, JsonNode body) throws IOException {
    if (p[0].equals("schemas") && p.length == 3 && method.equals("GET")) {
      String s = schemasById.get(Integer.parseInt(p[2]));
      if (s == null) {
        send(ex, 404, error(40403, "Schema " + p[2] + " not found"));
      } else {
        send(ex, 200, JSON.createObjectNode().put("schema", s));
      }
    } else if (p[0].equals("subjects") && p.length == 1) {
      ArrayNode a = JSON.createArrayNode();
      subjects.keySet().forEach(a::add);
      send(ex, 200, a);
    } else if (p[0].equals("subjects") && p.length == 3 && method.equals("POST")) {
      String text = body.get("schema").asText();
      Schema schema = new Schema.Parser().parse(text);
      List<Integer> versions = subjects.get(p[1]);
      if (versions != null && !versions.isEmpty() && compatibility.startsWith("BACKWARD")) {
        Schema latest =
            new Schema.Parser().parse(schemasById.get(versions.get(versions.size() - 1)));
        if (!compatible(schema, latest)) {
          send(
              ex,
              409,
              error(409, "Schema being registered is incompatible with an earlier schema"));
          return;
        }
      }
      send(ex, 200, JSON.createObjectNode().put("id", register(p[1], text)));
    } else if (p[0].equals("subjects") && p.length == 3 && method.equals("GET")) {
      List<Integer> versions = subjects.get(p[1]);
      if (versions == null) {
        send(ex, 404, error(40401, "Subject '" + p[1] + "' not found."));
        return;
      }
      ArrayNode a = JSON.createArrayNode();
      for (int i = 1; i <= versions.size(); i++) {
        a.add(i);
      }
      send(ex, 200, a);
    } else if (p[0].equals("subjects") && p.length == 4 && method.equals("GET")) {
      List<Integer> versions = subjects.get(p[1]);
      if (versions == null) {
        send(ex, 404, error(40401, "Subject '" + p[1] + "' not found."));
        return;
      }
      int v = p[3].equals("latest") ? versions.size() : Integer.parseInt(p[3]);
      if (v < 1 || v > versions.size()) {
        send(ex, 404, error(40402, "Version " + p[3] + " not found."));
        return;
      }
      send(ex, 200, version(p[1], v, versions.get(v - 1)));
    } else if (p[0].equals("subjects") && p.length == 2 && method.equals("POST")) {
      List<Integer> versions = subjects.get(p[1]);
      if (versions == null) {
        send(ex, 404, error(40401, "Subject '" + p[1] + "' not found."));
        return;
      }
      String canonical = new Schema.Parser().parse(body.get("schema").asText()).toString();
      Integer id = idsBySchema.get(canonical);
      if (id == null || !versions.contains(id)) {
        send(ex, 404, error(40403, "Schema not found"));
        return;
      }
      send(ex, 200, version(p[1], versions.indexOf(id) + 1, id));
    } else if (p[0].equals("compatibility") && method.equals("POST")) {
      List<Integer> versions = subjects.get(p[2]);
      if (versions == null) {
        send(ex, 404, error(40401, "Subject '" + p[2] + "' not found."));
        return;
      }
      Schema schema = new Schema.Parser().parse(body.get("schema").asText());
      Schema latest = new Schema.Parser().parse(schemasById.get(versions.get(versions.size() - 1)));
      send(ex, 200, JSON.createObjectNode().put("is_compatible", compatible(schema, latest)));
    } else if (p[0].equals("config") && method.equals("GET")) {
      send(ex, 200, JSON.createObjectNode().put("compatibilityLevel", compatibility));
    } else if (p[0].equals("config") && method.equals("PUT")) {
      compatibility = body.get("compatibility").asText();
      send(ex, 200, JSON.createObjectNode().put("compatibility", compatibility));
    } else {
      send(ex, 404, error(404, "HTTP 404 Not Found"));
    }
  }

  private static boolean compatible(Schema reader, Schema writer) {
    return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType()
        == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE;
  }

  private ObjectNode version(String subject, int version, int id) {
    return JSON.createObjectNode()
        .put("subject", subject)
        .put("version", version)
        .put("id", id)
        .put("schema", schemasById.get(id));
  }

  private static ObjectNode error(int code, String message) {
    return JSON.createObjectNode().put("error_code", code).put("message", message);
  }

  private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().add("Content-Type", "application/vnd.schemaregistry.v1+json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }
}
