package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small HTTP client for the tests: method, path, content type, body, key. */
final class ApiClient {
  static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final String base;
  private final String key;

  record Answer(int status, String body, HttpResponse<String> raw) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }

    String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }
  }

  ApiClient(String base, String key) {
    this.base = base;
    this.key = key;
  }

  ApiClient as(String otherKey) {
    return new ApiClient(base, otherKey);
  }

  Answer get(String path) {
    return call("GET", path, null, null, null);
  }

  Answer post(String path, String contentType, String body) {
    return call("POST", path, contentType, body, null);
  }

  Answer postJson(String path, Object body) {
    return call("POST", path, "application/json", toJson(body), null);
  }

  static String toJson(Object body) {
    try {
      return body instanceof String s ? s : JSON.writeValueAsString(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  Answer call(String method, String path, String contentType, String body, String idempotencyKey) {
    return callBytes(
        method,
        path,
        contentType,
        body == null ? null : body.getBytes(java.nio.charset.StandardCharsets.UTF_8),
        idempotencyKey);
  }

  Answer callBytes(
      String method, String path, String contentType, byte[] body, String idempotencyKey) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    if (idempotencyKey != null) {
      b.header("Idempotency-Key", idempotencyKey);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body(), r);
    } catch (IOException e) {
      throw new AssertionError(method + " " + path + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  HttpClient http() {
    return http;
  }
}
