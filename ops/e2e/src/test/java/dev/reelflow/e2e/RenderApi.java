package dev.reelflow.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/** The ingest HTTP API as a client sees it: submit, read and cancel renders. */
final class RenderApi {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A response: HTTP status and JSON body (null when the body is not JSON). */
  record Answer(int status, JsonNode json, String body) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final String baseUrl;
  private final String apiKey;

  RenderApi(String baseUrl, String apiKey) {
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.apiKey = apiKey;
  }

  /**
   * Submits a preview render without upscale ({@code steps} denoising steps) and returns its id.
   */
  String submitPreview(String prompt, int steps) {
    return submitPreview(prompt, steps, null);
  }

  /** As {@link #submitPreview(String, int)}, with a deadline when not null. */
  String submitPreview(String prompt, int steps, java.time.Instant deadline) {
    String body =
        "{\"prompt\":\""
            + prompt
            + "\",\"resolution\":\"preview\",\"frames\":17,\"steps\":"
            + steps
            + ",\"upscale\":\"none\",\"seed\":7"
            + (deadline == null ? "" : ",\"deadline\":\"" + deadline + "\"")
            + "}";
    Answer a = call("POST", "/v1/renders", body);
    if (a.status() != 202 || a.json() == null || !a.json().hasNonNull("id")) {
      throw new AssertionError("POST /v1/renders answered " + a.status() + ": " + a.body());
    }
    return a.json().get("id").asText();
  }

  Answer get(String id) {
    return call("GET", "/v1/renders/" + id, null);
  }

  Answer cancel(String id) {
    return call("DELETE", "/v1/renders/" + id, null);
  }

  /** The render's JSON once the API shows {@code state}, else empty. */
  Optional<JsonNode> inState(String id, String state) {
    Answer a = get(id);
    if (a.status() == 200 && a.json() != null && state.equals(a.json().path("status").asText())) {
      return Optional.of(a.json());
    }
    return Optional.empty();
  }

  Answer call(String method, String path, String body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + apiKey);
    if (body != null) {
      b.header("Content-Type", "application/json");
      b.method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode json = null;
      try {
        json = r.body().isBlank() ? null : JSON.readTree(r.body());
      } catch (IOException notJson) {
        json = null;
      }
      return new Answer(r.statusCode(), json, r.body());
    } catch (IOException e) {
      throw new AssertionError(method + " " + path + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(method + " " + path + " interrupted", e);
    }
  }
}
