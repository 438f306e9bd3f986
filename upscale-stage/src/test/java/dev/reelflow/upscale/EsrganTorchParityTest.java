package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.stack.RequiredTools;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The one ESRGAN implementation gives the same frames on {@link TorchBackend} (libtorch, CPU,
 * float32) as on the OpenBLAS {@link CpuBackend}: a batch of two different frames, tiled (so that
 * tile margins and the frame batch are exercised on both), slim at every scale it ships with and
 * thick x2 where this build carries it. Tolerance: 0.05 of 255 per value and above 80 dB PSNR; both
 * backends compute in float32 and differ only in summation order. The CUDA run of the same code is
 * the GPU self-check's; nothing here needs a GPU.
 */
class EsrganTorchParityTest {
  private static CpuBackend cpu;
  private static TorchBackend torch;

  @BeforeAll
  static void open() {
    cpu = new CpuBackend(2);
    torch = TorchBackend.builder().threads(2).build();
  }

  @AfterAll
  static void close() {
    cpu.close();
    torch.close();
  }

  @Test
  void slimOnTorchEqualsSlimOnTheCpuBackend() throws Exception {
    for (int scale : new int[] {2, 3, 4, 8}) {
      compare(EsrganWeights.SLIM, scale, 40, 34);
    }
  }

  @Test
  void thickOnTorchEqualsThickOnTheCpuBackend() throws Exception {
    RequiredTools.assume(
        "npm",
        EsrganWeights.THICK.bundled(),
        "esrgan-thick is not in this build (the build fetches it with npm; see pom.xml)");
    compare(EsrganWeights.THICK, 2, 36, 30);
  }

  @Test
  void theEngineRunsOnTheWorkerSlotsBackend() throws Exception {
    EngineRegistry r = EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    Map<String, String> options = Map.of("weights", "slim", "threads", "2");
    try (UpscaleEngine e =
        r.createUpscale(
            new EngineSettings("esrgan", options, "cpu", 0, false, BackendSpec.torch()))) {
      assertThat(e.describe().backend()).isEqualTo("torch");
      FrameUpscaler up = ((PixelUpscaleEngine) e).upscaler();
      assertThat(((EsrganUpscaler) up).backend()).isInstanceOf(TorchBackend.class);
      RgbFrame out = up.upscale(frame("coffee", 32, 18), 64, 36, () -> false);
      assertThat(out.width()).isEqualTo(64);
    }
  }

  private static void compare(EsrganWeights weights, int scale, int w, int h) throws Exception {
    List<RgbFrame> frames = List.of(frame("chelsea", w, h), frame("rocket", w, h));
    List<RgbFrame> a = run(cpu, weights, scale, frames);
    List<RgbFrame> b = run(torch, weights, scale, frames);
    for (int f = 0; f < frames.size(); f++) {
      float[] x = a.get(f).pixels();
      float[] y = b.get(f).pixels();
      double max = 0;
      for (int i = 0; i < x.length; i++) {
        max = Math.max(max, Math.abs(x[i] - y[i]));
      }
      double psnr = ImageQuality.psnr(y, x);
      System.out.printf(
          "%s x%d frame %d: torch vs cpu max |diff| %.5f, %.1f dB%n",
          weights.id(), scale, f, max, psnr);
      assertThat(max).as("%s x%d frame %d max |diff|", weights.id(), scale, f).isLessThan(0.05);
      assertThat(psnr).as("%s x%d frame %d PSNR", weights.id(), scale, f).isGreaterThan(80.0);
    }
  }

  private static List<RgbFrame> run(
      Backend backend, EsrganWeights weights, int scale, List<RgbFrame> frames) {
    try (EsrganUpscaler up =
        EsrganUpscaler.builder()
            .weights(weights)
            .scale(scale)
            .tileSize(20)
            .backend(backend)
            .build()) {
      return up.upscaleByModel(frames, scale, () -> false);
    }
  }

  private static RgbFrame frame(String photo, int w, int h) throws Exception {
    return Resampler.resize(Photos.load(photo), w, h);
  }
}
