package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.reelflow.bench.BenchContext;
import dev.reelflow.bench.BenchSize;
import dev.reelflow.bench.BenchSuite;
import dev.reelflow.bench.Figure;
import dev.reelflow.bench.Spread;
import dev.reelflow.bench.SuiteResult;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code e2e}: a batch through the whole local pipeline (ingest, the orchestrator, EMULATED base
 * workers whose steps sleep, bicubic upscale workers) as {@code reelflow up} runs it. Each
 * repetition submits one NDJSON batch and waits for every render: renders/hour against the ideal of
 * the base pool, submit-to-final p50/p99 against the same packing's ideal, and each pool's busy
 * share (the workers' own task-seconds metric over the batch's wall time).
 */
final class E2eSuite implements BenchSuite {
  private final Integer workersOverride;
  private final Integer tasksOverride;
  private final int steps;
  private final long stepMs;
  private final boolean upscale;
  private final Duration timeout;
  private final PrintStream log;

  /**
   * @param workers emulated base workers, null for the size's default
   * @param tasks renders per batch, null for the size's default
   * @param log where the pipeline's start-up and the watcher's lines go
   */
  E2eSuite(
      Integer workers,
      Integer tasks,
      int steps,
      long stepMs,
      boolean upscale,
      Duration timeout,
      PrintStream log) {
    this.workersOverride = workers;
    this.tasksOverride = tasks;
    this.steps = steps;
    this.stepMs = stepMs;
    this.upscale = upscale;
    this.timeout = timeout;
    this.log = log;
  }

  @Override
  public String name() {
    return "e2e";
  }

  @Override
  public String description() {
    return "a batch through the whole local pipeline, EMULATED base workers: renders/hour,"
        + " submit-to-final p50/p99, each pool's busy share";
  }

  @Override
  public SuiteResult run(BenchContext ctx) throws Exception {
    BenchSize size = ctx.size();
    int workers = workersOverride != null ? workersOverride : size.pick(2, 4, 8);
    int tasks = tasksOverride != null ? tasksOverride : size.pick(4, 40, 200);
    long taskMillis = steps * stepMs;
    SuiteResult.Builder out =
        new SuiteResult.Builder(name())
            .emulated(true)
            .parameter("baseWorkers", workers)
            .parameter("upscaleWorkers", upscale ? 1 : 0)
            .parameter("upscaleEngine", upscale ? "bicubic" : "none")
            .parameter("tasks", tasks)
            .parameter("steps", steps)
            .parameter("stepMillis", stepMs)
            .note(
                "EMULATED base workers (each denoising step sleeps; a latency model, not a model);"
                    + " upscale workers run real bicubic resampling and encoding")
            .note(
                "busy share: the workers' reelflow_worker_task_seconds over the batch's wall time"
                    + " times the pool's slots");
    Figure.Builder rate =
        new Figure.Builder(
            "renders/hour",
            "renders/h",
            "ideal: base workers x 3600 s / emulated task time",
            Figure.BaselineKind.IDEAL);
    Figure.Builder p50 =
        new Figure.Builder(
            "submit-to-final p50",
            "s",
            "ideal p50 of the same batch packed on the base pool",
            Figure.BaselineKind.IDEAL);
    Figure.Builder p99 =
        new Figure.Builder(
            "submit-to-final p99",
            "s",
            "ideal p99 of the same batch packed on the base pool",
            Figure.BaselineKind.IDEAL);
    Figure.Builder baseBusy =
        new Figure.Builder(
            "base pool busy share", "fraction", "every slot busy (1.0)", Figure.BaselineKind.IDEAL);
    Figure.Builder upBusy =
        new Figure.Builder(
            "upscale pool busy share",
            "fraction",
            "every slot busy (1.0)",
            Figure.BaselineKind.IDEAL);
    LocalPipeline.Options options =
        new LocalPipeline.Options(
            ctx.workDir(),
            workers,
            upscale ? 1 : 0,
            "emulated",
            "bicubic",
            0,
            FreePort.find(),
            Map.of(),
            Map.of("engine.emulated.step", stepMs + "ms"));
    ctx.progress().step("starting the local pipeline");
    try (LocalPipeline pipeline = LocalPipeline.start(options, log)) {
      ApiClient client =
          new ApiClient(new ClientSettings(URI.create(pipeline.apiUrl() + "/"), pipeline.apiKey()));
      Set<String> endpoints = new LinkedHashSet<>();
      pipeline
          .info()
          .toMap()
          .forEach(
              (k, v) -> {
                if (k.startsWith("workers.") && k.endsWith(".metrics")) {
                  endpoints.add(v);
                }
              });
      for (int rep = 0; rep < ctx.repetitions(); rep++) {
        ctx.progress()
            .step("batch " + (rep + 1) + "/" + ctx.repetitions() + ": " + tasks + " renders");
        Map<String, Double> before = taskSeconds(endpoints);
        StringBuilder batch = new StringBuilder();
        for (int i = 0; i < tasks; i++) {
          batch
              .append("{\"prompt\":\"emulated bench render ")
              .append(rep)
              .append('-')
              .append(i)
              .append("\",\"resolution\":\"preview\",\"frames\":9,\"upscale\":\"")
              .append(upscale ? "1080p" : "none")
              .append("\",\"steps\":")
              .append(steps)
              .append("}\n");
        }
        JsonNode accepted = client.submitBatch(batch.toString());
        List<JsonNode> done =
            new RenderWatcher(client, log, false)
                .awaitBatch(accepted.path("batchId").asText(), tasks, timeout);
        Map<String, Double> after = taskSeconds(endpoints);
        long failed =
            done.stream().filter(r -> !"SUCCEEDED".equals(r.path("status").asText())).count();
        if (failed > 0) {
          throw new IllegalStateException(failed + " of " + tasks + " renders did not succeed");
        }
        List<Double> latencies = new ArrayList<>();
        Instant first = null;
        Instant last = null;
        for (JsonNode r : done) {
          Instant created = Instant.parse(r.path("createdAt").asText());
          Instant updated = Instant.parse(r.path("updatedAt").asText());
          latencies.add(Duration.between(created, updated).toMillis() / 1000.0);
          first = first == null || created.isBefore(first) ? created : first;
          last = last == null || updated.isAfter(last) ? updated : last;
        }
        Collections.sort(latencies);
        double wall = Duration.between(first, last).toMillis() / 1000.0;
        List<Double> ideal = idealCompletions(tasks, workers, taskMillis / 1000.0);
        rate.add(tasks * 3600.0 / wall, workers * 3600.0 / (taskMillis / 1000.0));
        p50.add(Spread.percentile(latencies, 0.50), Spread.percentile(ideal, 0.50));
        p99.add(Spread.percentile(latencies, 0.99), Spread.percentile(ideal, 0.99));
        double base = after.getOrDefault("base", 0.0) - before.getOrDefault("base", 0.0);
        baseBusy.add(base / (workers * wall), 1.0);
        if (upscale) {
          double up = after.getOrDefault("upscale", 0.0) - before.getOrDefault("upscale", 0.0);
          upBusy.add(up / wall, 1.0);
        }
      }
    }
    return out.figure(rate).figure(p50).figure(p99).figure(baseBusy).figure(upBusy).build();
  }

  /** Completion times of a batch perfectly packed on the pool: task i ends at ceil((i+1)/w) t. */
  static List<Double> idealCompletions(int tasks, int workers, double taskSeconds) {
    List<Double> ends = new ArrayList<>();
    for (int i = 0; i < tasks; i++) {
      ends.add(Math.ceil((i + 1) / (double) workers) * taskSeconds);
    }
    return ends;
  }

  /** Sum of reelflow_worker_task_seconds by pool over the workers' metrics endpoints. */
  static Map<String, Double> taskSeconds(Set<String> endpoints) {
    Map<String, Double> byPool = new HashMap<>();
    HttpClient http = HttpClient.newHttpClient();
    for (String url : endpoints) {
      try {
        String body =
            http.send(
                    HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
        parseTaskSeconds(body).forEach((pool, s) -> byPool.merge(pool, s, Double::sum));
      } catch (IOException e) {
        // a worker without a reachable endpoint counts as no busy time; the note says how
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return byPool;
  }

  static Map<String, Double> parseTaskSeconds(String prometheusText) {
    Map<String, Double> byPool = new HashMap<>();
    for (String line : prometheusText.split("\n")) {
      if (!line.startsWith("reelflow_worker_task_seconds_sum{")) {
        continue;
      }
      int p = line.indexOf("pool=\"");
      if (p < 0) {
        continue;
      }
      String pool =
          line.substring(p + 6, line.indexOf('"', p + 6)).toLowerCase(java.util.Locale.ROOT);
      double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      byPool.merge(pool, v, Double::sum);
    }
    return byPool;
  }

  /** A stream that drops everything (quiet runs). */
  static PrintStream quiet() {
    return new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
  }
}
