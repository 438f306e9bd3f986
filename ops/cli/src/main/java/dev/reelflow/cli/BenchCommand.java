package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code reelflow bench}: the orchestration benchmark harness. Brings up the local pipeline with a
 * pool of EMULATED base workers (a latency model: each denoising step sleeps), submits a batch of
 * fixed-length renders and reports wall time against the ideal, throughput and accept-to-done
 * latencies. Every figure is labelled emulated; it measures the pipeline, not a model.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Orchestration benchmark on the local pipeline with EMULATED base workers: a batch of",
      "fixed-length renders, wall time vs ideal, throughput, accept-to-done latency.",
      "Model benchmarks (attention, ESRGAN, ...) are listed in the README."
    })
final class BenchCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--workers", defaultValue = "4", description = "Emulated base workers.")
  int workers;

  @Option(names = "--tasks", defaultValue = "40", description = "Renders in the batch.")
  int tasks;

  @Option(names = "--steps", defaultValue = "4", description = "Denoising steps per render.")
  int steps;

  @Option(names = "--step-ms", defaultValue = "250", description = "Emulated time per step.")
  long stepMs;

  @Option(names = "--timeout", defaultValue = "PT30M", description = "Maximum wait (ISO-8601).")
  Duration timeout;

  @Option(names = "--json", description = "Print the figures as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (workers < 1 || tasks < 1 || steps < 1 || stepMs < 1) {
      throw new CliException(
          ExitCode.USAGE, "--workers, --tasks, --steps and --step-ms must be >= 1");
    }
    Path dir = Files.createTempDirectory("reelflow-bench");
    LocalPipeline.Options options =
        new LocalPipeline.Options(
            dir,
            workers,
            0,
            "emulated",
            "bicubic",
            0,
            FreePort.find(),
            Map.of(),
            Map.of("engine.emulated.step-ms", Long.toString(stepMs)));
    PrintStream quiet =
        new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    try (LocalPipeline pipeline = LocalPipeline.start(options, json ? quiet : System.err)) {
      ApiClient client =
          new ApiClient(new ClientSettings(URI.create(pipeline.apiUrl() + "/"), pipeline.apiKey()));
      StringBuilder batch = new StringBuilder();
      for (int i = 0; i < tasks; i++) {
        batch
            .append("{\"prompt\":\"emulated bench render ")
            .append(i)
            .append("\",\"resolution\":\"preview\",\"frames\":9,\"upscale\":\"none\",\"steps\":")
            .append(steps)
            .append("}\n");
      }
      JsonNode accepted = client.submitBatch(batch.toString());
      List<JsonNode> done =
          new RenderWatcher(client, json ? quiet : System.err, false)
              .awaitBatch(accepted.path("batchId").asText(), tasks, timeout);
      ObjectNode figures = figures(done);
      if (json) {
        ClientCommands.printJson(System.out, figures);
      } else {
        System.out.println(describe(figures));
      }
      return ClientCommands.exitCodeOf(done);
    } finally {
      deleteQuietly(dir);
    }
  }

  ObjectNode figures(List<JsonNode> renders) {
    List<Long> latencies = new ArrayList<>();
    Instant first = null;
    Instant last = null;
    for (JsonNode r : renders) {
      Instant created = Instant.parse(r.path("createdAt").asText());
      Instant updated = Instant.parse(r.path("updatedAt").asText());
      latencies.add(Duration.between(created, updated).toMillis());
      first = first == null || created.isBefore(first) ? created : first;
      last = last == null || updated.isAfter(last) ? updated : last;
    }
    latencies.sort(Comparator.naturalOrder());
    double wall = Duration.between(first, last).toMillis() / 1000.0;
    double ideal = Math.ceil((double) tasks / workers) * steps * stepMs / 1000.0;
    ObjectNode n = JSON.createObjectNode();
    n.put("emulated", true);
    n.put("workers", workers);
    n.put("tasks", tasks);
    n.put("taskMillis", steps * stepMs);
    n.put("wallSeconds", wall);
    n.put("idealSeconds", ideal);
    n.put("efficiency", ideal / wall);
    n.put("rendersPerSecond", tasks / wall);
    n.put("latencyP50Millis", percentile(latencies, 0.50));
    n.put("latencyP99Millis", percentile(latencies, 0.99));
    n.put(
        "succeeded",
        renders.stream().filter(r -> "SUCCEEDED".equals(r.path("status").asText())).count());
    return n;
  }

  static long percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) {
      return 0;
    }
    int index = (int) Math.ceil(q * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  static String describe(JsonNode f) {
    return String.format(
        Locale.ROOT,
        "EMULATED orchestration benchmark (latency-model workers, not a model):%n"
            + "  %d workers, %d renders of %d ms each: wall %.1f s, ideal %.1f s, efficiency %.1f%%%n"
            + "  throughput %.2f renders/s; accept -> done p50 %d ms, p99 %d ms; succeeded %d",
        f.path("workers").asInt(),
        f.path("tasks").asInt(),
        f.path("taskMillis").asLong(),
        f.path("wallSeconds").asDouble(),
        f.path("idealSeconds").asDouble(),
        100 * f.path("efficiency").asDouble(),
        f.path("rendersPerSecond").asDouble(),
        f.path("latencyP50Millis").asLong(),
        f.path("latencyP99Millis").asLong(),
        f.path("succeeded").asLong());
  }

  private static void deleteQuietly(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // A leftover temp directory is harmless; the benchmark result is what matters.
    }
  }
}
