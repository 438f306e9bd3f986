package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The REST calls against a fake Flink REST endpoint (canned answers, requests recorded). */
class FlinkRestClientTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A request the fake endpoint received. */
  record Received(String method, String pathAndQuery, String contentType, byte[] body) {}

  @TempDir Path dir;
  private HttpServer server;
  private final Map<String, String> answers = new ConcurrentHashMap<>();
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private FlinkRestClient client;

  @BeforeEach
  void startFakeFlink() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::answer);
    server.start();
    client = new FlinkRestClient("http://127.0.0.1:" + server.getAddress().getPort());
  }

  @AfterEach
  void stopFakeFlink() {
    server.stop(0);
  }

  /** Answers "METHOD /path" from {@link #answers}: "200 {json}"; 404 when none is set. */
  private void answer(HttpExchange ex) throws IOException {
    String target = ex.getRequestURI().getRawPath();
    if (ex.getRequestURI().getRawQuery() != null) {
      target += "?" + ex.getRequestURI().getRawQuery();
    }
    received.add(
        new Received(
            ex.getRequestMethod(),
            target,
            ex.getRequestHeaders().getFirst("Content-Type"),
            ex.getRequestBody().readAllBytes()));
    String canned = answers.getOrDefault(ex.getRequestMethod() + " " + target, "404 {}");
    int status = Integer.parseInt(canned.substring(0, 3));
    byte[] body = canned.substring(4).getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length); // -1: no body
    ex.getResponseBody().write(body);
    ex.close();
  }

  @Test
  void submitJarUploadsTheJarThenRunsItsEntryClassWithTheArguments() throws Exception {
    Path jar = dir.resolve("orchestrator.jar");
    Files.write(jar, new byte[] {'P', 'K', 3, 4, 42});
    answers.put(
        "POST /jars/upload",
        "200 {\"filename\":\"/flink/web-upload/flink-web-upload/abc_orchestrator.jar\"}");
    answers.put("POST /jars/abc_orchestrator.jar/run", "200 {\"jobid\":\"j-1\"}");

    String jobId = client.submitJar(jar, "dev.example.Main", List.of("--a", "b c"));

    assertThat(jobId).isEqualTo("j-1");
    assertThat(received).hasSize(2);
    Received upload = received.get(0);
    assertThat(upload.contentType()).startsWith("multipart/form-data; boundary=reelflow-");
    String form = new String(upload.body(), StandardCharsets.ISO_8859_1);
    assertThat(form)
        .contains("name=\"jarfile\"; filename=\"orchestrator.jar\"")
        .contains("PK\u0003\u0004*");
    Received run = received.get(1);
    assertThat(run.contentType()).isEqualTo("application/json");
    JsonNode runBody = JSON.readTree(run.body());
    assertThat(runBody.path("entryClass").asText()).isEqualTo("dev.example.Main");
    assertThat(runBody.path("programArgsList").toString()).isEqualTo("[\"--a\",\"b c\"]");
  }

  @Test
  void submitJarRefusesAnUploadFlinkDidNotAccept() throws Exception {
    Path jar = dir.resolve("x.jar");
    Files.write(jar, new byte[] {1});
    answers.put("POST /jars/upload", "200 {\"status\":\"odd\"}");
    assertThatThrownBy(() -> client.submitJar(jar, "Main", List.of()))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("did not accept the jar upload");
    assertThat(received).hasSize(1); // nothing was run
  }

  @Test
  void awaitJobRunningReturnsOnceEveryVertexRunsAndFailsFastWhenTheJobEnded() {
    answers.put(
        "GET /jobs/j-1",
        "200 {\"state\":\"RUNNING\",\"vertices\":[{\"status\":\"RUNNING\"},{\"status\":\"RUNNING\"}]}");
    client.awaitJobRunning("j-1", Duration.ofSeconds(5));

    answers.put("GET /jobs/j-2", "200 {\"state\":\"FAILED\",\"vertices\":[]}");
    answers.put("GET /jobs/j-2/exceptions", "200 {\"root-exception\":\"boom\"}");
    long start = System.nanoTime();
    assertThatThrownBy(() -> client.awaitJobRunning("j-2", Duration.ofSeconds(30)))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("Job j-2 ended as FAILED")
        .hasMessageContaining("boom");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void awaitJobRunningGivesUpWhenAVertexNeverRuns() {
    answers.put(
        "GET /jobs/j-3",
        "200 {\"state\":\"RUNNING\",\"vertices\":[{\"status\":\"RUNNING\"},{\"status\":\"DEPLOYING\"}]}");
    assertThatThrownBy(() -> client.awaitJobRunning("j-3", Duration.ofMillis(600)))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("Job j-3 was not running within PT0.6S")
        .hasMessageContaining("DEPLOYING");
  }

  @Test
  void aFinishedOneShotSourceCountsAsRunningButNotAJobOfFinishedVerticesOnly() {
    answers.put(
        "GET /jobs/j-4",
        "200 {\"state\":\"RUNNING\",\"vertices\":[{\"status\":\"RUNNING\"},"
            + "{\"status\":\"FINISHED\"}]}");
    client.awaitJobRunning("j-4", Duration.ofSeconds(5));

    answers.put(
        "GET /jobs/j-5", "200 {\"state\":\"RUNNING\",\"vertices\":[{\"status\":\"FINISHED\"}]}");
    assertThatThrownBy(() -> client.awaitJobRunning("j-5", Duration.ofMillis(600)))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("Job j-5 was not running within PT0.6S");
  }

  @Test
  void jobsListsIdNameAndStateAndCancelSendsAPatch() {
    answers.put(
        "GET /jobs/overview",
        "200 {\"jobs\":[{\"jid\":\"j-1\",\"name\":\"orchestrator\",\"state\":\"RUNNING\"}]}");
    List<String[]> jobs = client.jobs();
    assertThat(jobs).hasSize(1);
    assertThat(jobs.get(0)).containsExactly("j-1", "orchestrator", "RUNNING");

    answers.put("PATCH /jobs/j-1?mode=cancel", "202 ");
    client.cancelJob("j-1");
    assertThat(received.get(received.size() - 1).method()).isEqualTo("PATCH");
  }

  @Test
  void aNon2xxAnswerIsAStackExceptionNamingTheRequest() {
    answers.put("GET /jobs/nope", "404 {\"errors\":[\"Job could not be found.\"]}");
    assertThatThrownBy(() -> client.jobState("nope"))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("GET " + client.restUrl() + "/jobs/nope answered 404")
        .hasMessageContaining("Job could not be found.");
  }
}
