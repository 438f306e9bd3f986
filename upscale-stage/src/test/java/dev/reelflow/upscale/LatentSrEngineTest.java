package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.StepListener;
import dev.reelflow.worker.spi.TaskCancelledException;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import dev.reelflow.worker.spi.VideoFrames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** latent-sr on the tiny config: shapes, frame count, steps, determinism, random-init label. */
class LatentSrEngineTest {
  @TempDir Path work;

  @Test
  void upscalesBaseLatentsThroughUpsamplerSrDitAndVae() throws Exception {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    EngineSettings s =
        new EngineSettings("latent-sr", Map.of("steps", "3", "threads", "2"), "cpu", 0L, false);
    try (UpscaleEngine e = r.createUpscale(s)) {
      assertThat(e.describe().weightsId()).startsWith("random-init");
      assertThat(e.describe().modelId()).contains("sr-tiny");
      List<String> steps = new ArrayList<>();
      long t0 = System.nanoTime();
      UpscaleResult a = e.upscale(job(7L), ctx(steps));
      System.out.printf("latent-sr tiny: %.1f s for 5 frames%n", (System.nanoTime() - t0) / 1e9);
      // 2 latent frames -> 5 pixel frames; target 128x96 -> latent grid 6x8 -> 128x96 px
      assertThat(a.frames().count()).isEqualTo(5);
      assertThat(a.frames().width()).isEqualTo(128);
      assertThat(a.frames().height()).isEqualTo(96);
      assertThat(steps).containsExactly("sr-denoise 1/3", "sr-denoise 2/3", "sr-denoise 3/3");
      assertThat(a.facts()).containsEntry("srLatentGrid", "2x6x8");
      UpscaleResult b = e.upscale(job(7L), ctx(new ArrayList<>()));
      assertThat(b.frames().rgb(4)).as("deterministic for a seed").isEqualTo(a.frames().rgb(4));
    }
  }

  private static UpscaleJob job(long seed) {
    Random rnd = new Random(3);
    float[] lat = new float[32 * 2 * 4 * 6];
    for (int i = 0; i < lat.length; i++) {
      lat[i] = (float) rnd.nextGaussian();
    }
    List<byte[]> frames = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      frames.add(new byte[96 * 64 * 3]);
    }
    return new UpscaleJob(
        "r-sr:UPSCALE:1",
        "r-sr",
        seed,
        VideoFrames.of(96, 64, frames),
        new Latents(new int[] {32, 2, 4, 6}, lat, Map.of()),
        128,
        96,
        24,
        Map.of());
  }

  private EngineContext ctx(List<String> steps) {
    return new EngineContext() {
      @Override
      public String taskId() {
        return "r-sr:UPSCALE:1";
      }

      @Override
      public Path workDir() {
        return work;
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
        return false;
      }

      @Override
      public void checkCancelled() throws TaskCancelledException {}

      @Override
      public StepListener listener() {
        return (phase, done, total) -> steps.add(phase + " " + done + "/" + total);
      }
    };
  }
}
