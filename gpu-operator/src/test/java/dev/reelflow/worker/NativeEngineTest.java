package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native adapter over the tiny Java engine: steps, cancellation, frames and latents. */
class NativeEngineTest {

  @TempDir Path dir;

  static final BaseVideoJob JOB =
      new BaseVideoJob(
          "r-n:BASE:1", "r-n", "a red fox", "", null, "preview", 64, 48, 5, 24, 2, null, 3L);

  @Test
  void rendersTheTinyModelReportingEveryStep() throws Exception {
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(new EngineSettings("native", Map.of("threads", "2"), "cpu", 0, false))) {
      RecordingContext ctx = new RecordingContext(dir);
      BaseVideoResult r = e.generate(JOB, ctx);

      assertThat(ctx.steps).containsExactly("denoise 1/2", "denoise 2/2");
      assertThat(r.frames().count()).isEqualTo(5);
      assertThat(r.frames().width()).isEqualTo(64);
      assertThat(r.frames().rgb(0)).hasSize(64 * 48 * 3);
      assertThat(r.latents().shape()[0]).isEqualTo(32);
      assertThat(e.describe().modelId()).isEqualTo("hunyuanvideo-1.5-tiny");
      assertThat(e.describe().weightsId()).isEqualTo("random-init");
      assertThat(e.describe().emulated()).isFalse();

      RecordingContext cancelling = new RecordingContext(dir);
      cancelling.onStep = k -> cancelling.cancel = ErrorCode.CANCELLED;
      BaseVideoJob longer =
          new BaseVideoJob(
              "r-n:BASE:2", "r-n", "a red fox", "", null, "preview", 64, 48, 5, 24, 6, null, 3L);
      assertThatThrownBy(() -> e.generate(longer, cancelling))
          .isInstanceOfSatisfying(
              TaskCancelledException.class,
              x -> assertThat(x.code()).isEqualTo(ErrorCode.CANCELLED));
      assertThat(cancelling.steps).hasSize(1);
    }
  }

  @Test
  void theSlotsBackendRunsTheEngineTorchOnTheCpuRendersTheSameJob() throws Exception {
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(
                new EngineSettings(
                    "native", Map.of("threads", "2"), "cpu", 0, false, BackendSpec.torch()))) {
      BaseVideoResult r = e.generate(JOB, new RecordingContext(dir));
      assertThat(e.describe().backend()).isEqualTo("torch");
      assertThat(r.frames().count()).isEqualTo(5);
      assertThat(r.latents().metadata()).containsEntry("backend", "torch");
    }
  }

  @Test
  void cudaWithoutAUsableGpuFailsAtStartSayingWhatIsMissing() {
    assumeTrue(
        !Files.exists(Path.of("/dev/nvidia0")), "a GPU is present: the refusal is not testable");
    assertThatThrownBy(
            () ->
                BuiltinEngines.registry()
                    .createBase(
                        new EngineSettings(
                            "native",
                            Map.of("threads", "2"),
                            "cpu",
                            0,
                            false,
                            BackendSpec.cuda(0))))
        .isInstanceOf(EngineException.class)
        .hasMessageContaining("cannot open backend cuda:0")
        .hasMessageMatching("(?s).*(CUDA|cuda|GPU|driver).*");
  }
}
