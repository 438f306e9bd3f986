package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.config.ConfigValues;
import dev.reelflow.engine.StepListener;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.TaskCancelledException;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import dev.reelflow.worker.spi.VideoFrames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engines through the worker runtime's SPI, found by ServiceLoader. */
class UpscaleEnginesTest {
  @TempDir Path work;

  @Test
  void registryFindsBothEngines() {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    assertThat(r.names()).contains("esrgan", "bicubic");
    assertThat(r.factory("esrgan").providesUpscale()).isTrue();
    assertThat(r.factory("esrgan").providesBase()).isFalse();
  }

  @Test
  void esrganUpscalesEveryFrameToTheTargetAndReportsProgress() throws Exception {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    try (UpscaleEngine e = r.createUpscale(settings("esrgan", Map.of("threads", "2")))) {
      assertThat(e.describe().emulated()).isFalse();
      assertThat(e.describe().backend()).isEqualTo("cpu");
      Ctx ctx = new Ctx(work, -1);
      UpscaleResult res = e.upscale(job(3, 64, 36, 192, 108), ctx);
      assertThat(res.frames().count()).isEqualTo(3);
      assertThat(res.frames().width()).isEqualTo(192);
      assertThat(res.frames().height()).isEqualTo(108);
      assertThat(res.frames().rgb(2)).hasSize(192 * 108 * 3);
      assertThat(ctx.steps).containsExactly("upscale 1/3", "upscale 2/3", "upscale 3/3");
      // the default is the network that beats bicubic when this build has it, else bicubic
      if (EsrganWeights.THICK.bundled()) {
        assertThat(e.describe().weightsId()).contains("@upscalerjs/esrgan-thick@1.0.0");
        assertThat(res.facts())
            .containsEntry("upscaleEngine", "esrgan-thick")
            .containsEntry("networkScale", "x3");
      } else {
        assertThat(e.describe().modelId()).startsWith("bicubic");
        assertThat(res.facts()).containsEntry("upscaleEngine", "bicubic");
      }
    }
  }

  @Test
  void framesGoThroughTheNetworkInBatchesWithOneProgressReportPerBatch() throws Exception {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    UpscaleJob job = job(5, 64, 36, 192, 108);
    UpscaleResult one;
    UpscaleResult batched;
    Ctx ctx = new Ctx(work, -1);
    try (UpscaleEngine e =
        r.createUpscale(settings("esrgan", Map.of("weights", "slim", "threads", "2")))) {
      assertThat(e.describe().weightsId()).contains("@upscalerjs/esrgan-slim@1.0.0");
      one = e.upscale(job, new Ctx(java.nio.file.Files.createDirectories(work.resolve("one")), -1));
    }
    try (UpscaleEngine e =
        r.createUpscale(
            settings("esrgan", Map.of("weights", "slim", "threads", "2", "frame-batch", "2")))) {
      batched = e.upscale(job, ctx);
    }
    assertThat(ctx.steps).containsExactly("upscale 2/5", "upscale 4/5", "upscale 5/5");
    for (int i = 0; i < 5; i++) {
      assertThat(batched.frames().rgb(i)).as("frame %d", i).isEqualTo(one.frames().rgb(i));
    }
  }

  @Test
  void unknownWeightsAreRefusedNamingTheKeyAndCudaWithoutAGpuFailsAtStart() {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    assertThatThrownBy(() -> r.createUpscale(settings("esrgan", Map.of("weights", "medium"))))
        .hasMessageContaining("engine.esrgan.weights");
    Assumptions.assumeTrue(
        Backends.devices().size() == 1, "a CUDA device is present; the refusal needs none");
    assertThatThrownBy(
            () ->
                r.createUpscale(
                    new EngineSettings(
                        "esrgan",
                        Map.of("weights", "slim"),
                        "cpu",
                        0L,
                        false,
                        BackendSpec.cuda(0))))
        .isInstanceOf(EngineException.class)
        .hasMessageContaining("cuda:0");
  }

  @Test
  void optionsAreReadStrictlyAndTheOldCamelCaseNamesWithAWarning() {
    ConfigValues o =
        settings("esrgan", Map.of("tileSize", "64", "frameBatch", "2", "models-dir", "m"))
            .options(EsrganEngineFactory.OPTIONS);
    assertThat(o.get(EsrganEngineFactory.TILE_SIZE)).isEqualTo(64);
    assertThat(o.get(EsrganEngineFactory.FRAME_BATCH)).isEqualTo(2);
    assertThat(o.get(EsrganEngineFactory.MAX_MARGIN)).isEqualTo(24);
    assertThat(o.warnings())
        .anySatisfy(
            w ->
                assertThat(w)
                    .contains("engine.esrgan.tileSize")
                    .contains("use engine.esrgan.tile-size"))
        .anySatisfy(w -> assertThat(w).contains("use engine.esrgan.frame-batch"));
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    assertThatThrownBy(() -> r.createUpscale(settings("esrgan", Map.of("tile-sise", "64"))))
        .hasMessageContaining("unknown engine esrgan setting 'engine.esrgan.tile-sise'")
        .hasMessageContaining("did you mean 'engine.esrgan.tile-size'?");
    assertThatThrownBy(() -> r.createUpscale(settings("bicubic", Map.of("frame-batch", "0"))))
        .hasMessageContaining("engine.bicubic.frame-batch must be >= 1");
    assertThatThrownBy(() -> r.createUpscale(settings("latent-sr", Map.of("variant", "4k"))))
        .hasMessageContaining("engine.latent-sr.variant must be auto, 720p_sr_distilled");
  }

  @Test
  void cancellationStopsTheTaskWithCodeCancelled() throws Exception {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    try (UpscaleEngine e =
        r.createUpscale(
            settings("esrgan", Map.of("weights", "slim", "threads", "1", "tile-size", "16")))) {
      Ctx ctx = new Ctx(work, 1); // cancel right after the first frame's progress report
      assertThatThrownBy(() -> e.upscale(job(4, 64, 36, 192, 108), ctx))
          .isInstanceOf(TaskCancelledException.class)
          .satisfies(
              t -> assertThat(((TaskCancelledException) t).code()).isEqualTo(ErrorCode.CANCELLED));
      assertThat(ctx.steps).containsExactly("upscale 1/4");
    }
  }

  @Test
  void bicubicEngineIsTheBaseline() throws Exception {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    try (UpscaleEngine e = r.createUpscale(settings("bicubic", Map.of()))) {
      assertThat(e.describe().modelId()).isEqualTo("bicubic");
      UpscaleResult res = e.upscale(job(2, 64, 36, 192, 108), new Ctx(work, -1));
      assertThat(res.frames().count()).isEqualTo(2);
      assertThat(res.frames().width()).isEqualTo(192);
    }
  }

  private static EngineSettings settings(String name, Map<String, String> options) {
    return new EngineSettings(name, options, "cpu", 0L, false);
  }

  private static UpscaleJob job(int frames, int w, int h, int tw, int th) {
    List<byte[]> list = new ArrayList<>();
    for (int f = 0; f < frames; f++) {
      byte[] rgb = new byte[w * h * 3];
      for (int i = 0; i < rgb.length; i++) {
        rgb[i] = (byte) ((i * 7 + f * 13 + (i / (w * 3)) * 5) & 0xff);
      }
      list.add(rgb);
    }
    return new UpscaleJob(
        "r-1:UPSCALE:1", "r-1", 42L, VideoFrames.of(w, h, list), null, tw, th, 24, Map.of());
  }

  /** A runtime stand-in: records steps, cancels after {@code cancelAfter} steps (-1: never). */
  private static final class Ctx implements EngineContext {
    final List<String> steps = new ArrayList<>();
    final AtomicBoolean cancelled = new AtomicBoolean();
    final Path dir;
    final int cancelAfter;

    Ctx(Path dir, int cancelAfter) {
      this.dir = dir;
      this.cancelAfter = cancelAfter;
    }

    @Override
    public String taskId() {
      return "r-1:UPSCALE:1";
    }

    @Override
    public Path workDir() {
      return dir;
    }

    @Override
    public long deviceMemoryBudgetBytes() {
      return 0;
    }

    @Override
    public boolean offloadWeights() {
      return false;
    }

    @Override
    public boolean cancelRequested() {
      return cancelled.get();
    }

    @Override
    public void checkCancelled() throws TaskCancelledException {
      if (cancelled.get()) {
        throw new TaskCancelledException(ErrorCode.CANCELLED, "cancelled by test");
      }
    }

    @Override
    public StepListener listener() {
      return (phase, done, total) -> {
        steps.add(phase + " " + done + "/" + total);
        if (cancelAfter >= 0 && steps.size() >= cancelAfter) {
          cancelled.set(true);
        }
      };
    }
  }
}
