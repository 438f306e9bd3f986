package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.worker.GpuTelemetry;
import dev.reelflow.worker.WorkerConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every PromQL query of the Grafana dashboard and of the KEDA scalers (ops/deploy) reads metrics
 * that the running processes really export, with the labels it groups and filters by: the
 * orchestrator through Flink's Prometheus reporter (as in the FlinkDeployment), a worker and ingest
 * through their own /metrics. Scraped after one render went through, so lazily registered series
 * (per-tenant backlog, step histogram) exist. The GPU series have samples only on a GPU; on a
 * machine without one their names and labels come from {@link GpuTelemetry}.
 */
@ExtendWith(SharedPipeline.class)
class DashboardMetricsIT {
  static final Duration WAIT = Duration.ofSeconds(120);
  static final Path DEPLOY = Path.of("..", "deploy", "base");
  static final Pattern METRIC = Pattern.compile("\\b((?:flink|reelflow)_[A-Za-z0-9_]+)");
  static final Pattern SELECTOR_LABEL = Pattern.compile("[{,]\\s*([a-z_]+)\\s*(?:=~|!=|!~|=)");
  static final Pattern BY = Pattern.compile("\\bby\\s*\\(([^)]*)\\)");

  static final Set<String> GPU_SERIES =
      Set.of(GpuTelemetry.MEMORY_USED, GpuTelemetry.MEMORY_TOTAL, GpuTelemetry.UTILIZATION);

  static SharedPipeline p;
  static WorkerJvm worker;
  static int workerMetricsPort;

  @BeforeAll
  static void startWorker(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    try (ServerSocket s = new ServerSocket(0)) {
      workerMetricsPort = s.getLocalPort();
    }
    Map<String, String> settings = new HashMap<>(SharedPipeline.workerSettings(50, 30_000));
    settings.put(WorkerConfig.METRICS_PORT.name(), Integer.toString(workerMetricsPort));
    worker = p.startWorker("mx-a", settings);
    p.awaitReady(WAIT, worker);
  }

  @AfterAll
  static void stopWorker() {
    if (worker != null) {
      worker.close();
    }
  }

  @Test
  void everyDashboardAndAutoscalerQueryReadsExportedSeries() throws Exception {
    String id = p.api().submitPreview("a paper boat on a puddle, metrics", 4);
    p.events()
        .awaitStatus(
            WAIT,
            "SUCCEEDED status of " + id,
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.SUCCEEDED);

    Map<String, Set<String>> series = new HashMap<>();
    String flink = p.pipeline().info().get("flink.metrics");
    assertThat(flink).as("local.json names the Flink metrics endpoint").isNotNull();
    scrape(flink, series);
    scrape("http://127.0.0.1:" + workerMetricsPort + "/metrics", series);
    scrape(p.pipeline().apiUrl() + "/metrics", series);

    List<String> queries = queries();
    assertThat(queries).hasSizeGreaterThanOrEqualTo(10);
    List<String> problems = new ArrayList<>();
    for (String q : queries) {
      Set<String> metrics = new LinkedHashSet<>();
      Matcher m = METRIC.matcher(q);
      while (m.find()) {
        metrics.add(m.group(1));
      }
      assertThat(metrics).as("metrics of %s", q).isNotEmpty();
      Set<String> labels = new HashSet<>();
      for (Pattern lp : List.of(SELECTOR_LABEL, BY)) {
        Matcher l = lp.matcher(q);
        while (l.find()) {
          for (String name : l.group(1).split(",")) {
            labels.add(name.trim());
          }
        }
      }
      for (String metric : metrics) {
        Set<String> have = series.get(metric);
        if (have == null && GPU_SERIES.contains(metric)) {
          // sampled only where NVML finds a GPU; GpuTelemetryTest checks them on GPU machines
          have = Set.copyOf(GpuTelemetry.LABELS);
        }
        if (have == null) {
          problems.add(q + ": no process exports " + metric);
          continue;
        }
        for (String label : labels) {
          // "pool" of a worker metric and of a Flink metric alike; "le" of a histogram.
          if (!have.contains(label)) {
            problems.add(q + ": " + metric + " has no label '" + label + "' (has " + have + ")");
          }
        }
      }
    }
    assertThat(problems).as("queries against the scraped series").isEmpty();
  }

  /** Sample name → label names, from Prometheus text format. */
  private static void scrape(String url, Map<String, Set<String>> series) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s", url).isEqualTo(200);
    for (String line : r.body().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.indexOf(' ');
      String name = line.substring(0, brace >= 0 && brace < space ? brace : space);
      Set<String> labels = series.computeIfAbsent(name, k -> new HashSet<>());
      if (brace >= 0 && brace < space) {
        Matcher l = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=\"").matcher(line.substring(brace));
        while (l.find()) {
          labels.add(l.group(1));
        }
      }
    }
  }

  /** The dashboard's panel expressions and the KEDA Prometheus triggers' queries. */
  private static List<String> queries() throws IOException {
    List<String> out = new ArrayList<>();
    JsonNode dashboard =
        new ObjectMapper().readTree(DEPLOY.resolve("grafana/reelflow-dashboard.json").toFile());
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        if (target.hasNonNull("expr")) {
          out.add(target.get("expr").asText());
        }
      }
    }
    for (String line : Files.readAllLines(DEPLOY.resolve("autoscaling.yaml"))) {
      String t = line.trim();
      if (t.startsWith("query:")) {
        out.add(t.substring("query:".length()).trim());
      }
    }
    return out;
  }
}
