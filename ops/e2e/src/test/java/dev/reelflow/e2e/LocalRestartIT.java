package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.cli.ReelflowCli;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.stack.CompletedCheckpoints;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17, scenario 0: the local default killed and started again, as a user would. {@code
 * reelflow up} runs in its own JVM (broker, registry, S3 endpoint, orchestrator, workers and API
 * all in it); 8 preview renders are submitted; the whole process tree is killed with SIGKILL while
 * 4 are queued and 1 is rendering; {@code reelflow up} is started again on the same directory.
 * Every acknowledged render must end SUCCEEDED exactly once, with exactly one final video and
 * manifest.
 *
 * <p>Base renders use the EMULATED engine (labelled so in every manifest; fixed seed 7, 8 steps of
 * 400 ms each) so the batch is long enough to be caught mid-way; the orchestrator checkpoints every
 * 2 s ({@code --orchestrator-config checkpoint.interval=2s}). Statuses become visible when a
 * checkpoint commits them, so a render takes longer than the interval: each one is seen RENDERING.
 */
class LocalRestartIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int RENDERS = 8;
  private static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED");

  @TempDir Path dir;

  /** The restart restores the retained checkpoint of the killed job. */
  @Test
  void sigkillOfUpThenUpAgainFinishesEveryRenderOnceFromTheRetainedCheckpoint() throws Exception {
    List<String> ids = killWhileBusy();
    long t0 = System.nanoTime();
    UpJvm second = UpJvm.start(dir, "up-2");
    System.out.printf("up again in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    try {
      assertThat(second.output())
          .as("the restart says which checkpoint it restored")
          .containsPattern("orchestrator restored from retained checkpoint \\S+/chk-\\d+");
      assertEveryRenderSucceededOnce(second, ids);
    } finally {
      System.out.println(second.output().lines().filter(l -> l.startsWith("reelflow:")).toList());
      second.stop();
    }
  }

  /**
   * The state folder is gone but Kafka and the bucket are not (a new machine with the same Kafka):
   * the new job finds no checkpoint and takes the unfinished renders over from the topics.
   */
  @Test
  @EnabledIfSystemProperty(named = "reelflow.slow", matches = "true")
  void sigkillOfUpThenUpAgainWithoutTheFlinkStateTakesRendersOverFromTheTopics() throws Exception {
    List<String> ids = killWhileBusy();
    deleteRecursively(dir.resolve(".reelflow/flink"));
    UpJvm second = UpJvm.start(dir, "up-2");
    try {
      assertThat(second.output())
          .contains("no retained checkpoint found")
          .containsPattern("took over [1-9]\\d* unfinished render");
      assertEveryRenderSucceededOnce(second, ids);
    } finally {
      second.stop();
    }
  }

  /** Starts up, submits the batch and SIGKILLs the whole process tree while 4 are queued. */
  private List<String> killWhileBusy() throws Exception {
    long t0 = System.nanoTime();
    UpJvm first = UpJvm.start(dir, "up-1");
    System.out.printf("up in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    List<String> ids = new ArrayList<>();
    try {
      RenderApi api = first.api();
      for (int i = 0; i < RENDERS; i++) {
        ids.add(api.submitPreview("restart scenario render " + i, 8));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      Map<String, String> states = Map.of();
      while (true) {
        states = states(api, ids);
        long rendering = states.values().stream().filter("RENDERING"::equals).count();
        long queued = states.values().stream().filter("QUEUED"::equals).count();
        long succeeded = states.values().stream().filter("SUCCEEDED"::equals).count();
        if (rendering == 1 && queued == 4) {
          break;
        }
        assertThat(System.nanoTime() < deadline && succeeded <= RENDERS - 5)
            .as("the batch is caught with 1 rendering and 4 queued: %s", states)
            .isTrue();
        // 8 status reads per round at 4 rounds/s stay under the tenant's 50 requests/s (a 429
        // hides a state); the window with 4 queued lasts one render (8 steps of 400 ms)
        Thread.sleep(250);
      }
      first.kill();
      System.out.println("killed up (SIGKILL, whole tree) with " + states);
      System.out.println(first.output().lines().filter(l -> l.startsWith("reelflow:")).toList());
    } finally {
      first.kill();
    }
    return ids;
  }

  private void assertEveryRenderSucceededOnce(UpJvm up, List<String> ids) throws Exception {
    RenderApi api = up.api();
    long t0 = System.nanoTime();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
    Map<String, String> states = states(api, ids);
    while (!states.values().stream().allMatch(FINAL::contains)) {
      assertThat(System.nanoTime() < deadline)
          .as("every acknowledged render ends after the restart: %s", states)
          .isTrue();
      Thread.sleep(500);
      states = states(api, ids);
    }
    assertThat(states.values()).as("%s", states).allMatch("SUCCEEDED"::equals);
    System.out.printf(
        "every render ended %.1f s after the restart was up%n", (System.nanoTime() - t0) / 1e9);

    JsonNode local = JSON.readTree(dir.resolve(".reelflow/local.json").toFile());
    try (EventLog events =
        new EventLog(
            local.path("kafka").path("bootstrapServers").asText(),
            local.path("schemaRegistry").path("url").asText())) {
      for (String id : ids) {
        events.awaitStatus(
            Duration.ofSeconds(30),
            id + " SUCCEEDED on render.status",
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.SUCCEEDED);
      }
      // A late second final status would be committed and read once the checkpoints begun now
      // completed.
      CompletedCheckpoints.awaitCommitted(
          Path.of(local.path("flink").path("checkpoints").asText()), Duration.ofSeconds(60));
      Path bucket = bucketDir();
      for (String id : ids) {
        List<RenderStatus> statuses = events.statuses(id);
        List<RenderStatus> finals =
            statuses.stream().filter(s -> FINAL.contains(s.getState().name())).toList();
        assertThat(finals).as("final statuses of %s: %s", id, statuses).hasSize(1);
        long previous = -1;
        for (RenderStatus s : statuses) {
          assertThat(s.getVersion()).as("%s versions only grow", id).isGreaterThan(previous);
          previous = s.getVersion();
        }
        // Exactly one final video and manifest, and they are the bytes the status names.
        List<Path> finalObjects = finalObjects(bucket, id);
        assertThat(finalObjects.stream().map(p -> p.getFileName().toString()))
            .as("final objects of %s", id)
            .containsOnlyOnce("video.mp4", "manifest.json");
        Map<String, String> sha = new HashMap<>();
        for (OutputArtifact o : finals.get(0).getOutputs()) {
          sha.put(o.getName(), o.getSha256());
        }
        for (Path p : finalObjects) {
          String name = p.getFileName().toString();
          String key =
              name.startsWith("video") ? "video" : name.startsWith("manifest") ? "manifest" : null;
          if (key != null && sha.containsKey(key)) {
            assertThat(sha256(p)).as("%s %s", id, name).isEqualTo(sha.get(key));
          }
        }
        JsonNode manifest =
            JSON.readTree(
                finalObjects.stream()
                    .filter(p -> p.getFileName().toString().equals("manifest.json"))
                    .findFirst()
                    .orElseThrow()
                    .toFile());
        assertThat(manifest.path("requestId").asText()).isEqualTo(id);
        assertThat(manifest.path("emulated").asBoolean()).isTrue();
      }
    }
  }

  private static Map<String, String> states(RenderApi api, List<String> ids) {
    Map<String, String> states = new java.util.LinkedHashMap<>();
    for (String id : ids) {
      RenderApi.Answer a = api.get(id);
      states.put(id, a.status() == 200 ? a.json().path("status").asText() : "HTTP " + a.status());
    }
    return states;
  }

  /** The S3 endpoint's filesystem backend keeps each object as a file under its key. */
  private Path bucketDir() throws IOException {
    Path s3 = dir.resolve(".reelflow/stack/s3");
    assertThat(s3).isDirectory();
    return s3;
  }

  private static List<Path> finalObjects(Path s3, String id) throws IOException {
    try (Stream<Path> walk = Files.walk(s3)) {
      return walk.filter(Files::isRegularFile)
          .filter(p -> p.toString().replace('\\', '/').contains("/" + id + "/final/"))
          .collect(Collectors.toList());
    }
  }

  private static String sha256(Path p) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(p)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        d.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }

  static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** {@code reelflow up} in its own JVM, its output in a file. */
  static final class UpJvm {
    final Process process;
    final Path log;
    final Path dir;

    private UpJvm(Process process, Path log, Path dir) {
      this.process = process;
      this.log = log;
      this.dir = dir;
    }

    static UpJvm start(Path dir, String name) throws Exception {
      Path log = dir.resolve(name + ".out");
      List<String> cmd =
          List.of(
              Path.of(System.getProperty("java.home"), "bin", "java").toString(),
              "-Xmx1g",
              // Start fast on small machines; the emulated engine needs no peak performance.
              "-XX:TieredStopAtLevel=1",
              "-XX:+UseSerialGC",
              "-Dreelflow.log.dir=" + dir.resolve("logs-" + name),
              "-cp",
              System.getProperty("java.class.path"),
              ReelflowCli.class.getName(),
              "up",
              "--dir",
              dir.toString(),
              "--engine",
              "emulated",
              "--upscale-engine",
              "bicubic",
              "--worker-config",
              "engine.emulated.step=400ms",
              "--orchestrator-config",
              "checkpoint.interval=2s");
      Process p =
          new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      UpJvm up = new UpJvm(p, log, dir);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
      while (!up.output().contains("Written to")) {
        if (!p.isAlive() || System.nanoTime() > deadline) {
          up.kill();
          throw new AssertionError("reelflow up did not come up:\n" + up.output());
        }
        Thread.sleep(200);
      }
      return up;
    }

    String output() throws IOException {
      return Files.exists(log) ? Files.readString(log) : "";
    }

    RenderApi api() throws IOException {
      JsonNode local = JSON.readTree(dir.resolve(".reelflow/local.json").toFile());
      return new RenderApi(
          local.path("api").path("url").asText(), local.path("api").path("key").asText());
    }

    /** SIGKILL of the process and every descendant, as the OOM killer or a power cut would. */
    void kill() throws InterruptedException {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM (Ctrl-C), then SIGKILL if it does not stop. */
    void stop() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(90, TimeUnit.SECONDS)) {
        kill();
      }
    }
  }
}
