package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.cli.ReelflowCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's client commands against a running pipeline: {@code submit} (one prompt and a batch
 * file, with {@code --wait}), {@code status}, {@code watch}, {@code cancel}, {@code outputs} and
 * {@code schedules}, with the exit codes scripts rely on. Base renders run on an emulated worker
 * JVM (labelled so in the manifests); nothing is upscaled.
 */
@ExtendWith(SharedPipeline.class)
class CliCommandsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(90);

  static SharedPipeline p;
  static WorkerJvm worker;

  @TempDir Path dir;

  /** What one command printed and returned. */
  record Run(int exit, String out, String err) {}

  @BeforeAll
  static void startWorker(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    worker = p.startWorker("cli-a", SharedPipeline.workerSettings(200, 30_000));
    p.awaitReady(WAIT, worker);
  }

  @AfterAll
  static void stopWorker() {
    if (worker != null) {
      worker.close();
    }
  }

  private static Run reelflow(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    if (!all.get(0).equals("schedules")) {
      all.addAll(List.of("--api-url", p.pipeline().apiUrl(), "--api-key", p.pipeline().apiKey()));
    } else {
      all.addAll(
          2, List.of("--api-url", p.pipeline().apiUrl(), "--api-key", p.pipeline().apiKey()));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream originalOut = System.out;
    PrintStream originalErr = System.err;
    int exit;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      exit = ReelflowCli.commandLine().execute(all.toArray(String[]::new));
    } finally {
      System.setOut(originalOut);
      System.setErr(originalErr);
    }
    return new Run(
        exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static String group(String regex, String text) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as("%s in %s", regex, text).isTrue();
    return m.group(1);
  }

  @Test
  void submitWaitStatusAndOutputs() throws Exception {
    Run submit =
        reelflow(
            "submit",
            "a lighthouse in a storm, cli",
            "--resolution",
            "preview",
            "--frames",
            "9",
            "--steps",
            "3",
            "--upscale",
            "none",
            "--seed",
            "42",
            "--wait",
            "--timeout",
            "PT3M");
    assertThat(submit.exit()).as(submit.toString()).isZero();
    String id = group("render (\\S+) ACCEPTED", submit.out());
    assertThat(submit.out()).contains("done 1");

    Run status = reelflow("status", id, "--json");
    assertThat(status.exit()).isZero();
    JsonNode render = JSON.readTree(status.out());
    assertThat(render.path("status").asText()).isEqualTo("SUCCEEDED");
    assertThat(render.path("seed").asLong()).isEqualTo(42);

    Run outputs = reelflow("outputs", id, "--to", dir.toString());
    assertThat(outputs.exit()).as(outputs.toString()).isZero();
    Path video = dir.resolve(id).resolve("video.mp4");
    assertThat(video).isRegularFile();
    assertThat(Files.size(video)).isPositive();
    JsonNode manifest = JSON.readTree(dir.resolve(id).resolve("manifest.json").toFile());
    assertThat(manifest.path("emulated").asBoolean()).isTrue();
    assertThat(manifest.path("seed").asLong()).isEqualTo(42);
  }

  @Test
  void batchFileWithWaitThenListByBatch() throws Exception {
    Path batch = dir.resolve("batch.ndjson");
    Files.writeString(
        batch,
        "{\"prompt\":\"row one\",\"frames\":9,\"steps\":2}\n"
            + "{\"prompt\":\"row two\",\"frames\":9,\"steps\":2}\n");
    Run submit =
        reelflow(
            "submit",
            "--file",
            batch.toString(),
            "--resolution",
            "preview",
            "--upscale",
            "none",
            "--wait",
            "--timeout",
            "PT3M");
    assertThat(submit.exit()).as(submit.toString()).isZero();
    String batchId = group("batch (\\S+) accepted: 2 renders", submit.out());

    Run list = reelflow("status", "--batch", batchId, "--json");
    assertThat(list.exit()).isZero();
    JsonNode renders = JSON.readTree(list.out());
    assertThat(renders).hasSize(2);
    renders.forEach(r -> assertThat(r.path("status").asText()).isEqualTo("SUCCEEDED"));

    Run watch = reelflow("watch", "--batch", batchId, "--timeout", "PT1M");
    assertThat(watch.exit()).as(watch.toString()).isZero();
  }

  @Test
  void cancelEndsARenderAndWatchReportsItAsFailedExitCode() {
    Run submit =
        reelflow(
            "submit",
            "a very long render, cancelled by the cli",
            "--resolution",
            "preview",
            "--frames",
            "9",
            "--steps",
            "200",
            "--upscale",
            "none");
    assertThat(submit.exit()).isZero();
    String id = group("render (\\S+) ACCEPTED", submit.out());

    Run cancel = reelflow("cancel", id);
    assertThat(cancel.exit()).as(cancel.toString()).isZero();
    assertThat(cancel.out()).contains("cancel requested for " + id);

    Run watch = reelflow("watch", id, "--timeout", "PT2M");
    assertThat(watch.exit()).as(watch.toString()).isEqualTo(1);
    assertThat(reelflow("status", id).out()).contains("CANCELLED");
  }

  @Test
  void schedulesAddListRunRemove() throws Exception {
    Run add =
        reelflow(
            "schedules",
            "add",
            "--name",
            "nightly-cli",
            "--cron",
            "0 3 * * *",
            "--timezone",
            "Europe/Berlin",
            "--prompt",
            "catalogue item",
            "--disabled");
    assertThat(add.exit()).as(add.toString()).isZero();
    String id = group("schedule (\\S+) created", add.out());

    Run list = reelflow("schedules", "list", "--json");
    assertThat(list.exit()).isZero();
    assertThat(list.out()).contains(id).contains("nightly-cli");

    assertThat(reelflow("schedules", "run", id).exit()).isZero();
    Run remove = reelflow("schedules", "remove", id);
    assertThat(remove.exit()).as(remove.toString()).isZero();
  }

  @Test
  void exitCodesForScriptsOnBadInput() {
    // Unknown render: 4. Usage errors: 2. Validation errors name the field: 3.
    assertThat(reelflow("status", "r-does-not-exist").exit()).isEqualTo(4);
    assertThat(reelflow("submit").exit()).isEqualTo(2);
    Run invalid = reelflow("submit", "bad frames", "--frames", "10");
    assertThat(invalid.exit()).isEqualTo(3);
    assertThat(invalid.err()).contains("frames");
  }
}
