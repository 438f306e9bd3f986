package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.EngineStatus;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.TaskCancelledException;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import dev.reelflow.worker.spi.VideoFrames;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resident engine against the FAKE resident server (a Python 3 script speaking the protocol):
 * one load for many tasks, progress, results with latents, permanent and retryable errors, cancel
 * within the grace period, a hang on cancel (killed and restarted), a crash mid-task (retryable,
 * restarted with backoff), crashes at start (given up with the reason), timeouts, a shared program,
 * the upscale stage and the metrics.
 */
class ResidentEngineTest {

  @TempDir Path dir;
  final List<AutoCloseable> open = new ArrayList<>();
  Path loads;

  @BeforeEach
  void python() {
    FakeResident.requirePython();
    loads = dir.resolve("loads.log");
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  ResidentEngine base(String args, Map<String, String> extra) {
    Map<String, String> o = FakeResident.options("--load-log " + loads + " " + args);
    o.putAll(extra);
    ResidentEngine e =
        (ResidentEngine)
            new ResidentEngineFactory()
                .createBase(new EngineSettings("resident", o, "cpu", 0, false));
    open.add(e);
    return e;
  }

  static BaseVideoJob job(String id, String prompt, int steps) {
    return new BaseVideoJob(
        id, "r-" + id, prompt, "", null, "preview", 256, 144, 9, 24, steps, null, 7L);
  }

  RecordingContext context(String name) throws Exception {
    return new RecordingContext(Files.createDirectories(dir.resolve(name)));
  }

  int loadCount() throws Exception {
    return Files.exists(loads) ? Files.readAllLines(loads).size() : 0;
  }

  static void await(String what, Duration max, Supplier<Boolean> condition) throws Exception {
    long end = System.nanoTime() + max.toNanos();
    while (!condition.get()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + max + ": " + what);
      }
      Thread.sleep(20);
    }
  }

  static void awaitReady(ResidentEngine e) throws Exception {
    await("engine ready, now " + e.status(), Duration.ofSeconds(20), () -> e.status().isReady());
  }

  @Test
  void loadsOnceServesManyTasksWithProgressAndLatents() throws Exception {
    ResidentEngine e = base("--load-seconds 0.3", Map.of());
    assertThat(e.status().state()).isEqualTo(EngineStatus.State.LOADING);
    awaitReady(e);
    for (int i = 0; i < 4; i++) {
      RecordingContext ctx = context("t" + i);
      BaseVideoResult r = e.generate(job("t" + i, "a paper boat", 3), ctx);
      assertThat(ctx.steps).containsExactly("denoise 1/3", "denoise 2/3", "denoise 3/3");
      VideoCodec.Decoded d = VideoCodec.decode(r.videoFile());
      assertThat(d.frames().count()).isEqualTo(9);
      assertThat(d.frames().width()).isEqualTo(256);
      assertThat(d.frames().height()).isEqualTo(144);
      assertThat(r.latents().shape()).containsExactly(32, 3, 9, 16);
      assertThat(r.facts()).containsEntry("fakeServer", "true").containsKey("fakeServerPid");
    }
    assertThat(loadCount()).as("one model load for four tasks").isEqualTo(1);
    assertThat(e.program().starts()).isEqualTo(1);
    assertThat(e.describe().emulated()).as("the fake says it renders no real content").isTrue();
    assertThat(e.describe().modelId()).isEqualTo("fake-resident");
    assertThat(e.describe().backend()).isEqualTo("external:fake-resident-server.py");
    assertThat(e.weightsBytes()).as("memory_bytes of the ready message").isEqualTo(1L << 20);
  }

  @Test
  void errorsArePermanentOrRetryableAsTheProgramSaysAndKeepItLoaded() throws Exception {
    ResidentEngine e = base("", Map.of());
    awaitReady(e);
    assertThatThrownBy(() -> e.generate(job("b", "x [bad]", 3), context("b")))
        .isInstanceOfSatisfying(
            EngineException.class,
            x -> {
              assertThat(x.code()).isEqualTo(ErrorCode.BAD_PARAMETERS);
              assertThat(x.retryable()).isFalse();
              assertThat(x.getMessage()).contains("refuses prompts marked [bad]");
            });
    assertThatThrownBy(() -> e.generate(job("o", "x [oom]", 3), context("o")))
        .isInstanceOfSatisfying(
            EngineException.class,
            x -> {
              assertThat(x.code()).isEqualTo(ErrorCode.OUT_OF_MEMORY);
              assertThat(x.retryable()).isFalse();
            });
    assertThatThrownBy(() -> e.generate(job("f", "x [flaky]", 3), context("f")))
        .isInstanceOfSatisfying(
            EngineException.class,
            x -> {
              assertThat(x.code()).isEqualTo(ErrorCode.ENGINE_ERROR);
              assertThat(x.retryable()).isTrue();
            });
    assertThat(e.generate(job("ok", "fine", 2), context("ok")).videoFile()).exists();
    assertThat(loadCount()).isEqualTo(1);
  }

  @Test
  void cancelStopsTheTaskWithinTheGracePeriodWithoutARestart() throws Exception {
    ResidentEngine e = base("", Map.of());
    awaitReady(e);
    RecordingContext ctx = context("c");
    ctx.onStep = k -> ctx.cancel = k == 2 ? ErrorCode.CANCELLED : ctx.cancel;
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> e.generate(job("c", "x [slow]", 40), ctx))
        .isInstanceOfSatisfying(
            TaskCancelledException.class, x -> assertThat(x.code()).isEqualTo(ErrorCode.CANCELLED));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).as("40 steps of 200 ms would take 8 s").isLessThan(3_000);
    assertThat(ctx.steps.size()).isLessThanOrEqualTo(3);
    assertThat(e.status().isReady()).isTrue();
    assertThat(e.program().starts()).as("the program stopped the task itself").isEqualTo(1);
  }

  @Test
  void aHangOnCancelKillsTheProcessTreeAndTheSlotIsNotReadyUntilReloaded() throws Exception {
    ResidentEngine e = base("--load-seconds 0.5", Map.of("cancel-grace", "600ms"));
    awaitReady(e);
    long pid = e.program().pid();
    RecordingContext ctx = context("h");
    ctx.onStep = k -> ctx.cancel = k == 1 ? ErrorCode.CANCELLED : ctx.cancel;
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> e.generate(job("h", "x [hang]", 40), ctx))
        .isInstanceOf(TaskCancelledException.class);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(ms).as("cancel grace 600 ms, then kill").isBetween(600L, 6_000L);
    assertThat(CommandEngineTest.deadWithin(pid, 5_000)).as("hung program killed").isTrue();
    assertThat(e.status().state())
        .as("reloading after the kill")
        .isEqualTo(EngineStatus.State.LOADING);
    awaitReady(e);
    assertThat(e.program().starts()).isEqualTo(2);
    assertThat(e.generate(job("n", "next", 2), context("n")).videoFile()).exists();
  }

  @Test
  void aCrashMidTaskFailsItRetryableAndRestartsTheProgram() throws Exception {
    WorkerMetrics metrics;
    try (GpuTelemetry gpus = GpuTelemetry.open()) {
      metrics = new WorkerMetrics("BASE", 1L << 30, gpus);
    }
    ResidentEngine e = base("", Map.of());
    e.bindMetrics(metrics, "w-test");
    awaitReady(e);
    assertThatThrownBy(() -> e.generate(job("x", "boom [crash]", 5), context("x")))
        .isInstanceOfSatisfying(
            EngineException.class,
            x -> {
              assertThat(x.code()).isEqualTo(ErrorCode.ENGINE_ERROR);
              assertThat(x.retryable()).isTrue();
              assertThat(x.getMessage())
                  .contains("exited with code 7")
                  .contains("simulated crash in step 3");
            });
    awaitReady(e);
    assertThat(e.program().starts()).isEqualTo(2);
    assertThat(e.generate(job("y", "after the crash", 2), context("y")).videoFile()).exists();
    String text = scrape(metrics);
    assertThat(text)
        .contains(
            "reelflow_worker_resident_restarts_total{pool=\"BASE\",reason=\"crash_task\","
                + "worker=\"w-test\"} 1.0")
        .containsPattern(
            "reelflow_worker_resident_messages_total\\{direction=\"out\",pool=\"BASE\","
                + "type=\"task\",worker=\"w-test\"\\} 2.0")
        .containsPattern(
            "reelflow_worker_resident_messages_total\\{direction=\"in\",pool=\"BASE\","
                + "type=\"ready\",worker=\"w-test\"\\} 2.0")
        .contains("reelflow_worker_resident_load_seconds_count{pool=\"BASE\",worker=\"w-test\"} 2");
  }

  static String scrape(WorkerMetrics m) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new PrometheusTextFormatWriter(false).write(out, m.registry.scrape());
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void repeatedCrashesAtStartMakeItUnavailableWithTheReasonInsteadOfLooping() throws Exception {
    ResidentEngine e = base("--crash-at-start --load-seconds 0", Map.of("max-start-failures", "3"));
    await(
        "unavailable, now " + e.status(),
        Duration.ofSeconds(20),
        () -> e.status().state() == EngineStatus.State.UNAVAILABLE);
    assertThat(e.status().reason())
        .contains("failed to start 3 times in a row")
        .contains("exited with code 3")
        .contains("simulated start crash")
        .contains("restart the worker");
    Thread.sleep(1_000);
    assertThat(loadCount()).as("no start after giving up").isEqualTo(3);
    assertThatThrownBy(() -> e.generate(job("u", "x", 2), context("u")))
        .isInstanceOfSatisfying(
            EngineException.class,
            x -> {
              assertThat(x.code()).isEqualTo(ErrorCode.ENGINE_ERROR);
              assertThat(x.retryable()).as("another worker may run it").isTrue();
              assertThat(x.getMessage()).contains("unavailable");
            });
  }

  @Test
  void startFailuresBelowTheLimitRecoverWithBackoff() throws Exception {
    ResidentEngine e = base("--fail-starts 2 --load-seconds 0", Map.of("max-start-failures", "3"));
    awaitReady(e);
    assertThat(loadCount()).isEqualTo(3);
    assertThat(e.generate(job("r", "x", 2), context("r")).videoFile()).exists();
  }

  @Test
  void aProgramNotReadyWithinTheLoadTimeoutCountsAsAFailedStart() throws Exception {
    ResidentEngine e =
        base(
            "--load-seconds 30",
            Map.of("load-timeout", "500ms", "max-start-failures", "1", "restart-backoff", "50ms"));
    await(
        "unavailable",
        Duration.ofSeconds(20),
        () -> e.status().state() == EngineStatus.State.UNAVAILABLE);
    assertThat(e.status().reason()).contains("load-timeout=500ms");
  }

  @Test
  void aPermanentLoadErrorGivesUpAtOnce() throws Exception {
    ResidentEngine e = base("--load-error BAD_PARAMETERS --load-seconds 0", Map.of());
    await(
        "unavailable",
        Duration.ofSeconds(20),
        () -> e.status().state() == EngineStatus.State.UNAVAILABLE);
    assertThat(e.status().reason()).contains("the fake checkpoint is unusable");
    assertThat(loadCount()).isEqualTo(1);
  }

  @Test
  void aTaskOverItsTimeoutFailsWithTimeout() throws Exception {
    ResidentEngine e = base("", Map.of("task-timeout", "400ms"));
    awaitReady(e);
    assertThatThrownBy(() -> e.generate(job("s", "x [slow]", 40), context("s")))
        .isInstanceOfSatisfying(
            EngineException.class, x -> assertThat(x.code()).isEqualTo(ErrorCode.TIMEOUT));
    assertThat(e.status().isReady()).as("it honoured the cancel").isTrue();
  }

  @Test
  void aProgramForAnotherStageOrWithStdoutNoiseIsToldApart() throws Exception {
    ResidentEngine noisy = base("--stdout-noise", Map.of());
    awaitReady(noisy);
    Map<String, String> o = FakeResident.options("--stage base");
    UpscaleEngine up =
        new ResidentEngineFactory()
            .createUpscale(new EngineSettings("resident", o, "cpu", 0, false));
    open.add(up);
    await(
        "unavailable",
        Duration.ofSeconds(20),
        () -> up.status().state() == EngineStatus.State.UNAVAILABLE);
    assertThat(up.status().reason()).contains("serves stages [base]").contains("upscale");
  }

  @Test
  void processScopeSharesOneProgramBetweenSlots() throws Exception {
    ResidentEngineFactory f = new ResidentEngineFactory();
    Map<String, String> o = FakeResident.options("--load-log " + loads + " --max-tasks 1");
    o.put("scope", "process");
    BaseVideoEngine a = f.createBase(new EngineSettings("resident", o, "cpu", 0, false));
    BaseVideoEngine b = f.createBase(new EngineSettings("resident", o, "cpu", 0, false));
    open.add(b);
    open.add(a);
    await("ready", Duration.ofSeconds(20), () -> a.status().isReady());
    RecordingContext ctx = context("pa");
    List<EngineStatus.State> seenByB = new java.util.concurrent.CopyOnWriteArrayList<>();
    ctx.onStep = k -> seenByB.add(b.status().state());
    a.generate(job("pa", "slot a", 3), ctx);
    assertThat(seenByB).as("slot b while a runs").containsOnly(EngineStatus.State.BUSY);
    assertThat(b.status().isReady()).isTrue();
    b.generate(job("pb", "slot b", 2), context("pb"));
    assertThat(loadCount()).as("one program for both slots").isEqualTo(1);
    long pid = ((ResidentEngine) a).program().pid();
    a.close();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
        .as("still used by slot b")
        .isTrue();
    b.close();
    assertThat(CommandEngineTest.deadWithin(pid, 5_000)).as("closed with the last slot").isTrue();
  }

  @Test
  void theUpscaleStageGetsThePreviewAndLatentsAndReturnsFrames() throws Exception {
    Map<String, String> o = FakeResident.options("");
    UpscaleEngine up =
        new ResidentEngineFactory()
            .createUpscale(new EngineSettings("resident", o, "cpu", 0, false));
    open.add(up);
    await("ready", Duration.ofSeconds(20), () -> up.status().isReady());
    List<byte[]> frames = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      frames.add(new byte[128 * 80 * 3]);
    }
    Latents lat = new Latents(new int[] {32, 2, 5, 8}, new float[32 * 2 * 5 * 8], Map.of());
    UpscaleJob job =
        new UpscaleJob(
            "u-1", "r-u", 3L, VideoFrames.of(128, 80, frames), lat, 640, 360, 24, Map.of(), "p");
    RecordingContext ctx = context("u");
    UpscaleResult r = up.upscale(job, ctx);
    assertThat(r.frames().count()).isEqualTo(5);
    assertThat(r.frames().width()).isEqualTo(640);
    assertThat(r.frames().rgb(4)).hasSize(640 * 360 * 3);
    assertThat(r.facts()).containsEntry("fakeInputLatents", "32x2x5x8");
    assertThat(ctx.steps).containsExactly("upscale 1/2", "upscale 2/2");
  }

  @Test
  void closeShutsTheProgramDown() throws Exception {
    ResidentEngine e = base("", Map.of());
    awaitReady(e);
    long pid = e.program().pid();
    e.close();
    assertThat(CommandEngineTest.deadWithin(pid, 5_000)).isTrue();
    assertThat(e.status().state()).isEqualTo(EngineStatus.State.UNAVAILABLE);
  }

  @Test
  void optionsReadTheEnvironmentForTheProgramFromFileKeysAndEnvironmentVariables() {
    Map<String, String> o = FakeResident.options("");
    o.put("env.PYTHONPATH", "/opt/hy");
    o.put("env-cuda-visible-devices", "3");
    ResidentOptions opts = ResidentOptions.from(new EngineSettings("resident", o, "cpu", 0, false));
    assertThat(opts.env()).containsEntry("PYTHONPATH", "/opt/hy");
    assertThat(opts.env()).containsEntry("CUDA_VISIBLE_DEVICES", "3");
    assertThat(
            WorkerConfig.load(
                    null, Map.of("REELFLOW_ENGINE_RESIDENT_ENV_PYTHONPATH", "/opt/hy"), Map.of())
                .engineOptions("resident", ResidentOptions.OPTIONS))
        .containsEntry("env-pythonpath", "/opt/hy");
    ResidentOptions slot =
        ResidentOptions.from(
            new EngineSettings(
                "resident",
                FakeResident.options(""),
                "cpu",
                0,
                false,
                dev.reelflow.engine.backend.BackendSpec.cuda(2)));
    assertThat(slot.env()).as("scope slot on cuda:2").containsEntry("CUDA_VISIBLE_DEVICES", "2");
  }

  @Test
  void badOptionsNameTheirKey() {
    Map<String, String> o = FakeResident.options("");
    o.put("scope", "node");
    assertThatThrownBy(
            () ->
                new ResidentEngineFactory()
                    .createBase(new EngineSettings("resident", o, "cpu", 0, false)))
        .hasMessageContaining("engine.resident.scope");
    assertThatThrownBy(
            () ->
                new ResidentEngineFactory()
                    .createBase(new EngineSettings("resident", Map.of(), "cpu", 0, false)))
        .hasMessageContaining("engine.resident.command");
  }
}
