package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/** A small client of ReelFlow's HTTP API (/v1), used by every client command. */
final class ApiClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ClientSettings settings;
  private final HttpClient http;

  ApiClient(ClientSettings settings) {
    this.settings = settings;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
  }

  URI baseUrl() {
    return settings.apiUrl();
  }

  JsonNode submit(JsonNode body, String idempotencyKey) {
    HttpRequest.Builder request =
        request("v1/renders")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
    if (idempotencyKey != null) {
      request.header("Idempotency-Key", idempotencyKey);
    }
    return send(request.build());
  }

  JsonNode submitBatch(Path file, Map<String, String> defaults) {
    String name = file.getFileName().toString().toLowerCase();
    String type = name.endsWith(".csv") ? "text/csv" : "application/x-ndjson";
    try {
      return send(
          request("v1/batches" + query(defaults))
              .header("Content-Type", type)
              .POST(HttpRequest.BodyPublishers.ofFile(file))
              .build());
    } catch (IOException e) {
      throw new CliException(ExitCode.USAGE, "cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  JsonNode submitBatch(String ndjson) {
    return send(
        request("v1/batches")
            .header("Content-Type", "application/x-ndjson")
            .POST(HttpRequest.BodyPublishers.ofString(ndjson))
            .build());
  }

  JsonNode render(String id) {
    return send(request("v1/renders/" + encode(id)).GET().build());
  }

  JsonNode list(Map<String, String> filters) {
    return send(request("v1/renders" + query(filters)).GET().build());
  }

  /** Every render matching the filters, following the list's cursor. */
  java.util.List<JsonNode> listAll(Map<String, String> filters) {
    java.util.List<JsonNode> all = new java.util.ArrayList<>();
    Map<String, String> paged = new LinkedHashMap<>(filters);
    String cursor = null;
    do {
      paged.put("cursor", cursor);
      JsonNode page = list(paged);
      page.path("items").forEach(all::add);
      cursor = page.path("nextCursor").asText(null);
    } while (cursor != null && !cursor.isEmpty());
    return all;
  }

  JsonNode batch(String batchId) {
    return send(request("v1/batches/" + encode(batchId)).GET().build());
  }

  JsonNode cancel(String id) {
    return send(request("v1/renders/" + encode(id)).DELETE().build());
  }

  JsonNode schedules() {
    return send(request("v1/schedules").GET().build());
  }

  JsonNode addSchedule(JsonNode body) {
    return send(
        request("v1/schedules")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build());
  }

  JsonNode removeSchedule(String id) {
    return send(request("v1/schedules/" + encode(id)).DELETE().build());
  }

  JsonNode runSchedule(String id) {
    return send(
        request("v1/schedules/" + encode(id) + "/run")
            .POST(HttpRequest.BodyPublishers.noBody())
            .build());
  }

  /** Downloads a (presigned) URL to a file, atomically. */
  void download(URI url, Path target) {
    try {
      Files.createDirectories(target.toAbsolutePath().getParent());
      HttpResponse<InputStream> response =
          http.send(
              HttpRequest.newBuilder(url).timeout(Duration.ofMinutes(5)).GET().build(),
              HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = response.body()) {
        if (response.statusCode() != 200) {
          throw new CliException(
              ExitCode.API_ERROR, "download of " + url + " answered HTTP " + response.statusCode());
        }
        Path tmp = target.resolveSibling(target.getFileName() + ".part");
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new CliException(ExitCode.API_ERROR, "download failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCode.API_ERROR, "interrupted", e);
    }
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(settings.apiUrl().resolve(path))
        .timeout(Duration.ofSeconds(120))
        .header("Authorization", "Bearer " + settings.apiKey())
        .header("Accept", "application/json");
  }

  private JsonNode send(HttpRequest request) {
    HttpResponse<String> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new CliException(
          ExitCode.API_ERROR,
          "cannot reach the API at " + settings.apiUrl() + " (is `reelflow up` running?)",
          e);
    } catch (IOException e) {
      throw new CliException(ExitCode.API_ERROR, "API call failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCode.API_ERROR, "interrupted", e);
    }
    JsonNode body = parse(response.body());
    int code = response.statusCode();
    if (code >= 200 && code < 300) {
      return body;
    }
    throw new CliException(
        code == 404 ? ExitCode.NOT_FOUND : ExitCode.API_ERROR, describeProblem(code, body));
  }

  /** Renders an RFC 9457 problem body as one readable message, naming each bad field. */
  static String describeProblem(int code, JsonNode body) {
    StringBuilder message = new StringBuilder("HTTP ").append(code);
    String title = body.path("title").asText("");
    String detail = body.path("detail").asText("");
    if (!title.isEmpty()) {
      message.append(' ').append(title);
    }
    if (!detail.isEmpty()) {
      message.append(": ").append(detail);
    }
    for (JsonNode error : body.path("errors")) {
      message.append(System.lineSeparator()).append("  ");
      if (error.has("row")) {
        message.append("row ").append(error.path("row").asText()).append(' ');
      }
      message
          .append(error.path("field").asText("?"))
          .append(": ")
          .append(error.path("message").asText(""));
    }
    return message.toString();
  }

  private static JsonNode parse(String body) {
    if (body == null || body.isBlank()) {
      return JSON.createObjectNode();
    }
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      ObjectNode raw = JSON.createObjectNode();
      raw.put("detail", body.length() > 500 ? body.substring(0, 500) + "..." : body);
      return raw;
    }
  }

  private static String query(Map<String, String> params) {
    Map<String, String> present = new LinkedHashMap<>();
    params.forEach(
        (k, v) -> {
          if (v != null && !v.isBlank()) {
            present.put(k, v);
          }
        });
    if (present.isEmpty()) {
      return "";
    }
    return "?"
        + present.entrySet().stream()
            .map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
            .collect(Collectors.joining("&"));
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
