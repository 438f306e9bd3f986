package dev.reelflow.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The few calls of Flink's REST API the stack needs (overview, jar upload and run, job state,
 * cancel); apart from the processes because it works against any Flink session cluster.
 */
final class FlinkRestClient {
  private static final Logger LOG = LoggerFactory.getLogger(FlinkRestClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String restUrl;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** A client of the REST API at {@code restUrl} ({@code http://host:port}). */
  FlinkRestClient(String restUrl) {
    this.restUrl = restUrl;
  }

  String restUrl() {
    return restUrl;
  }

  /**
   * Uploads {@code jar} ({@code POST /jars/upload}) and runs its {@code entryClass} with {@code
   * args} ({@code POST /jars/{id}/run}); returns the job id.
   */
  String submitJar(Path jar, String entryClass, List<String> args) {
    try {
      String boundary = "reelflow-" + UUID.randomUUID();
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      body.write(
          ("--"
                  + boundary
                  + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                  + jar.getFileName()
                  + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
              .getBytes(StandardCharsets.UTF_8));
      Files.copy(jar, body);
      body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
      JsonNode uploaded =
          send(
              HttpRequest.newBuilder(URI.create(restUrl + "/jars/upload"))
                  .timeout(Duration.ofMinutes(2))
                  .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))
                  .build());
      String filename = uploaded.path("filename").asText();
      if (filename.isEmpty()) {
        throw new StackException("Flink did not accept the jar upload: " + uploaded);
      }
      String jarId = Path.of(filename).getFileName().toString();
      ObjectNode run = JSON.createObjectNode();
      run.put("entryClass", entryClass);
      ArrayNode list = run.putArray("programArgsList");
      args.forEach(list::add);
      JsonNode started =
          send(
              HttpRequest.newBuilder(URI.create(restUrl + "/jars/" + jarId + "/run"))
                  .timeout(Duration.ofMinutes(3))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(run)))
                  .build());
      String jobId = started.path("jobid").asText();
      if (jobId.isEmpty()) {
        throw new StackException("Flink did not start the job: " + started);
      }
      LOG.info("Submitted {} ({}) as job {}", jar.getFileName(), entryClass, jobId);
      return jobId;
    } catch (IOException e) {
      throw new StackException("Could not submit " + jar + " to " + restUrl, e);
    }
  }

  /** The job's state as Flink reports it (e.g. RUNNING, FAILED). */
  String jobState(String jobId) {
    try {
      return get("/jobs/" + jobId).path("state").asText();
    } catch (IOException e) {
      throw new StackException("Could not read job " + jobId + " from " + restUrl, e);
    }
  }

  /**
   * Waits until the job is RUNNING and every one of its vertices RUNNING or FINISHED (a one-shot
   * source, such as the renders a start after state loss takes over, finishes within seconds while
   * the job runs on), at least one RUNNING; fails at once when the job ended (FAILED, CANCELED,
   * FINISHED), with its exceptions.
   */
  void awaitJobRunning(String jobId, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    JsonNode job = null;
    while (System.nanoTime() < deadline) {
      try {
        job = get("/jobs/" + jobId);
        String state = job.path("state").asText();
        if (state.equals("FAILED") || state.equals("CANCELED") || state.equals("FINISHED")) {
          throw new StackException(
              "Job " + jobId + " ended as " + state + ": " + get("/jobs/" + jobId + "/exceptions"));
        }
        boolean allUp = state.equals("RUNNING");
        boolean anyRunning = false;
        for (JsonNode v : job.path("vertices")) {
          String status = v.path("status").asText();
          anyRunning |= status.equals("RUNNING");
          allUp &= status.equals("RUNNING") || status.equals("FINISHED");
        }
        if (allUp && anyRunning) {
          return;
        }
      } catch (IOException e) {
        // JobManager busy: try again until the deadline.
      }
      sleep(500);
    }
    throw new StackException(
        "Job " + jobId + " was not running within " + timeout + " (last: " + job + ")");
  }

  /** The jobs of the cluster ({@code GET /jobs/overview}): id, name, state. */
  List<String[]> jobs() {
    try {
      List<String[]> jobs = new ArrayList<>();
      for (JsonNode j : get("/jobs/overview").path("jobs")) {
        jobs.add(
            new String[] {
              j.path("jid").asText(), j.path("name").asText(), j.path("state").asText()
            });
      }
      return jobs;
    } catch (IOException e) {
      throw new StackException("Could not list the jobs of " + restUrl, e);
    }
  }

  /** Cancels a job ({@code PATCH /jobs/{id}?mode=cancel}). */
  void cancelJob(String jobId) {
    try {
      send(
          HttpRequest.newBuilder(URI.create(restUrl + "/jobs/" + jobId + "?mode=cancel"))
              .timeout(Duration.ofSeconds(30))
              .method("PATCH", HttpRequest.BodyPublishers.noBody())
              .build());
    } catch (IOException e) {
      throw new StackException("Could not cancel job " + jobId, e);
    }
  }

  /**
   * {@code GET path} as JSON.
   *
   * @throws StackException when the answer is not 2xx
   */
  JsonNode get(String path) throws IOException {
    return send(
        HttpRequest.newBuilder(URI.create(restUrl + path))
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build());
  }

  private JsonNode send(HttpRequest request) throws IOException {
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() / 100 != 2) {
        throw new StackException(
            request.method()
                + " "
                + request.uri()
                + " answered "
                + r.statusCode()
                + ": "
                + r.body());
      }
      return r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted", e);
    }
  }

  /** Sleeps between polls of the cluster; an interrupt ends the wait with a StackException. */
  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StackException("Interrupted while waiting for the Flink cluster", e);
    }
  }
}
