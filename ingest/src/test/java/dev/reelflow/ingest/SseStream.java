package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An open SSE connection. The server subscribes before it sends the response headers, so once
 * {@link #open} returns every later status change reaches this stream.
 */
final class SseStream {
  final int status;
  final String contentType;
  private final BufferedReader reader;

  private SseStream(HttpResponse<java.io.InputStream> r) {
    this.status = r.statusCode();
    this.contentType = r.headers().firstValue("Content-Type").orElse("");
    this.reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
  }

  static SseStream open(HttpClient http, String url, String key) throws Exception {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + key).build();
    return new SseStream(http.send(req, HttpResponse.BodyHandlers.ofInputStream()));
  }

  /** The next event's data, or null when the server ended the stream. */
  JsonNode next() throws IOException {
    String line;
    while ((line = reader.readLine()) != null) {
      if (line.startsWith("data: ")) {
        return ApiClient.JSON.readTree(line.substring(6));
      }
    }
    return null;
  }

  /** The remaining events as {@code id=STATUS}, read in the background until the stream ends. */
  CompletableFuture<List<String>> rest() {
    return CompletableFuture.supplyAsync(
        () -> {
          List<String> out = new ArrayList<>();
          try {
            JsonNode n;
            while ((n = next()) != null) {
              out.add(n.get("id").asText() + "=" + n.get("status").asText());
            }
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
          return out;
        });
  }
}
