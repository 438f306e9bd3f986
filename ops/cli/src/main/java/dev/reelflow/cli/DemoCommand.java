package dev.reelflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code reelflow demo}: brings the local pipeline up, renders the sample batch shipped in the
 * repository with progress bars, downloads every output and prints where they are.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Start the local pipeline, render the sample batch (a dozen marketing prompts in English",
      "and Chinese, several aspect ratios, quoted on-screen text, one without upscaling, one",
      "480p clip) with progress bars, then print each output's URL and local copy."
    })
final class DemoCommand implements Callable<Integer> {
  static final String SAMPLE = "/samples/demo-batch.ndjson";

  @Mixin PipelineOptions pipelineOptions;

  @Option(names = "--sample", description = "NDJSON batch to render instead of the shipped sample.")
  Path sample;

  @Option(names = "--limit", description = "Render only the first N rows of the sample.")
  Integer limit;

  @Option(
      names = "--out",
      defaultValue = "reelflow-outputs",
      description = "Directory for local copies of the outputs.")
  Path out;

  @Option(names = "--timeout", defaultValue = "PT30M", description = "Maximum wait (ISO-8601).")
  Duration timeout;

  @Override
  public Integer call() throws Exception {
    String batch = sampleBatch();
    // the pretrained upscaler is meant for a GPU; on the CPU the sample batch would spend most of
    // an hour in it, so the demo upscales with bicubic there unless asked otherwise
    LocalPipeline.Options options =
        pipelineOptions.toOptions(pipelineOptions.backend().isCuda() ? "esrgan" : "bicubic");
    if (pipelineOptions.upscaleEngine == null && !pipelineOptions.backend().isCuda()) {
      System.err.println(
          "reelflow: the demo upscales with bicubic on the CPU (the esrgan network takes about 9 s"
              + " per preview frame here); --upscale-engine esrgan runs the network");
    }
    try (LocalPipeline pipeline = LocalPipeline.start(options, System.err)) {
      System.out.println("ReelFlow is up:");
      System.out.print(pipeline.info().describe());
      ApiClient client =
          new ApiClient(
              new ClientSettings(java.net.URI.create(pipeline.apiUrl() + "/"), pipeline.apiKey()));
      JsonNode accepted = client.submitBatch(batch);
      String batchId = accepted.path("batchId").asText();
      int count = accepted.path("count").asInt();
      System.out.printf("Submitted batch %s: %d renders%n", batchId, count);
      List<JsonNode> done =
          new RenderWatcher(client, System.out, System.console() != null)
              .awaitBatch(batchId, count, timeout);
      return report(client, done);
    }
  }

  private int report(ApiClient client, List<JsonNode> renders) {
    List<String> failed = new ArrayList<>();
    System.out.println();
    System.out.println("Outputs:");
    for (JsonNode render : renders) {
      String id = render.path("id").asText();
      String status = render.path("status").asText();
      if (!"SUCCEEDED".equals(status)) {
        failed.add(id + " " + status + " " + render.path("error").path("message").asText(""));
        continue;
      }
      System.out.printf("%s%n  video:    %s%n", id, render.path("outputs").path("video").asText());
      for (Path file : ClientCommands.Outputs.download(client, render, out)) {
        System.out.printf("  local:    %s%n", file.toAbsolutePath());
      }
    }
    if (!failed.isEmpty()) {
      System.out.println("Failed renders:");
      failed.forEach(f -> System.out.println("  " + f));
      return ExitCode.RENDER_FAILED;
    }
    System.out.printf("All %d renders succeeded.%n", renders.size());
    return ExitCode.OK;
  }

  private String sampleBatch() throws IOException {
    String text;
    if (sample != null) {
      text = Files.readString(sample);
    } else {
      try (InputStream in = DemoCommand.class.getResourceAsStream(SAMPLE)) {
        if (in == null) {
          throw new CliException(ExitCode.USAGE, "the sample batch " + SAMPLE + " is missing");
        }
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
    List<String> rows = text.lines().filter(l -> !l.isBlank()).toList();
    if (limit != null) {
      rows = rows.subList(0, Math.min(limit, rows.size()));
    }
    return String.join("\n", rows) + "\n";
  }
}
