package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Emulated engine, safetensors, memory planning, registry and ledger. */
class EngineUnitsTest {

  @TempDir Path dir;

  static RenderTask task(String requestId, int attempt, Resolution res, int frames) {
    return RenderTask.newBuilder()
        .setTaskId(requestId + ":BASE:" + attempt)
        .setRequestId(requestId)
        .setTenant("demo")
        .setStage(Stage.BASE)
        .setAttempt(attempt)
        .setParams(
            RenderParams.newBuilder()
                .setPrompt("a lighthouse at dusk")
                .setResolution(res)
                .setAspectRatio(AspectRatio.AR_16_9)
                .setFrames(frames)
                .setFps(24)
                .setSteps(3)
                .setUpscale(UpscaleTarget.NONE)
                .build())
        .setOutputPrefix("demo/2026/11/25/" + requestId + "/base/attempt-" + attempt + "/")
        .setFinalPrefix("demo/2026/11/25/" + requestId + "/final/")
        .setCreatedAt(Instant.parse("2026-11-25T10:00:00Z"))
        .setDispatchedAt(Instant.now())
        .build();
  }

  @Test
  void emulatedEngineSleepsPerStepSaysEmulatedAndCancelsWithinAStep() throws Exception {
    EmulatedEngine e =
        new EmulatedEngine(new EngineSettings("emulated", Map.of("step", "40ms"), "cpu", 0, false));
    BaseVideoJob job = BaseStage.job(task("r-1", 1, Resolution.PREVIEW, 17));
    RecordingContext ctx = new RecordingContext(dir);
    long t0 = System.nanoTime();
    BaseVideoResult r = e.generate(job, ctx);
    long ms = (System.nanoTime() - t0) / 1_000_000;

    assertThat(ms).isGreaterThanOrEqualTo(3 * 40);
    assertThat(ctx.steps).containsExactly("denoise 1/3", "denoise 2/3", "denoise 3/3");
    assertThat(e.describe().emulated()).isTrue();
    assertThat(e.describe().facts()).containsEntry("emulated", "true");
    assertThat(r.frames().count()).isEqualTo(17);
    assertThat(r.frames().width()).isEqualTo(256);
    assertThat(r.latents().shape()).containsExactly(32, 5, 9, 16);

    RecordingContext cancelling = new RecordingContext(dir);
    cancelling.onStep = k -> cancelling.cancel = ErrorCode.CANCELLED;
    assertThatThrownBy(() -> e.generate(job, cancelling))
        .isInstanceOf(TaskCancelledException.class);
    assertThat(cancelling.steps).hasSize(1);
  }

  @Test
  void latencyModelGrowsWithTokens() {
    EmulatedEngine e =
        new EmulatedEngine(new EngineSettings("emulated", Map.of(), "cpu", 0, false));
    long preview =
        e.stepMillis(
            new BaseVideoJob("t", "r", "p", "", null, "preview", 256, 144, 33, 24, null, null, 1));
    long p480 =
        e.stepMillis(
            new BaseVideoJob("t", "r", "p", "", null, "480p", 848, 480, 121, 24, null, null, 1));
    assertThat(p480).isGreaterThan(preview * 10);
  }

  @Test
  void safetensorsRoundTripsLatentsAndMetadata() throws Exception {
    float[] data = new float[2 * 3 * 4];
    for (int i = 0; i < data.length; i++) {
      data[i] = i * 0.5f - 3;
    }
    Latents l =
        new Latents(
            new int[] {2, 3, 4}, data, Map.of("engine", "tiny", "note", "a \"quoted\" value"));
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    LatentsFile.write(l, bos);
    byte[] bytes = bos.toByteArray();
    long headerLen =
        java.nio.ByteBuffer.wrap(bytes, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(headerLen % 8).isZero();
    assertThat(bytes.length).isEqualTo(8 + headerLen + data.length * 4);

    Latents back = LatentsFile.read(bytes);
    assertThat(back.shape()).containsExactly(2, 3, 4);
    assertThat(back.data()).containsExactly(data);
    assertThat(back.metadata())
        .containsEntry("engine", "tiny")
        .containsEntry("note", "a \"quoted\" value");
  }

  @Test
  void refusesWhatCannotFitTheDeviceWithAClearPermanentError() throws Exception {
    BaseVideoJob big = BaseStage.job(task("r-2", 1, Resolution.P720, 121));
    long needed = MemoryPlan.baseBytes(big, 16_600_000_000L, false);
    assertThatThrownBy(() -> BaseStage.checkMemory(needed, 8L << 30, false, big))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.BAD_PARAMETERS);
              assertThat(e.retryable()).isFalse();
              assertThat(e.getMessage()).contains("720p", "GiB", "offload-weights=true");
            });
    // Offloading keeps two of 54 blocks resident: the same job then needs much less.
    assertThat(MemoryPlan.baseBytes(big, 16_600_000_000L, true))
        .isLessThan(needed - 15_000_000_000L);
    BaseVideoJob small = BaseStage.job(task("r-3", 1, Resolution.PREVIEW, 17));
    BaseStage.checkMemory(MemoryPlan.baseBytes(small, 0, false), 8L << 30, false, small);
  }

  @Test
  void badFrameCountIsBadParameters() {
    assertThatThrownBy(() -> BaseStage.job(task("r-4", 1, Resolution.PREVIEW, 18)))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.BAD_PARAMETERS);
              assertThat(e.getMessage()).contains("4k+1");
            });
  }

  @Test
  void registryFindsBuiltinsAndRejectsUnknownOrWrongPoolEngines() throws Exception {
    EngineRegistry r = BuiltinEngines.registry();
    assertThat(r.names()).contains("command", "emulated");
    assertThat(
            r.createBase(new EngineSettings("emulated", Map.of(), "cpu", 0, false))
                .describe()
                .name())
        .isEqualTo("emulated");
    assertThatThrownBy(() -> r.factory("nope"))
        .hasMessageContaining("unknown engine 'nope'")
        .hasMessageContaining("emulated");
    assertThatThrownBy(
            () -> r.createUpscale(new EngineSettings("emulated", Map.of(), "cpu", 0, false)))
        .hasMessageContaining("cannot run the UPSCALE pool");
    EngineFactory dup =
        new EngineFactory() {
          @Override
          public String name() {
            return "emulated";
          }
        };
    assertThatThrownBy(() -> WorkerProcess.builtinEngines().register(dup))
        .hasMessageContaining("two engines");
  }

  @Test
  void ledgerSkipsDuplicatesFencedAttemptsAndCancelledRenders() {
    TaskLedger l = new TaskLedger(100);
    assertThat(l.admit(task("r-5", 2, Resolution.PREVIEW, 17))).isEqualTo(TaskLedger.Verdict.RUN);
    l.finished("r-5:BASE:2");
    assertThat(l.admit(task("r-5", 2, Resolution.PREVIEW, 17)))
        .isEqualTo(TaskLedger.Verdict.DUPLICATE);
    assertThat(l.admit(task("r-5", 1, Resolution.PREVIEW, 17)))
        .isEqualTo(TaskLedger.Verdict.FENCED);
    l.cancelled("r-6");
    assertThat(l.admit(task("r-6", 1, Resolution.PREVIEW, 17)))
        .isEqualTo(TaskLedger.Verdict.CANCELLED);
    l.handedBack("r-5:BASE:2");
    assertThat(l.admit(task("r-5", 2, Resolution.PREVIEW, 17))).isEqualTo(TaskLedger.Verdict.RUN);
  }
}
