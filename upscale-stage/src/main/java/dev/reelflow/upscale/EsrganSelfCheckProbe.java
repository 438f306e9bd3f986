package dev.reelflow.upscale;

import dev.reelflow.engine.GpuSelfCheck;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.TorchBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The GPU self-check's ESRGAN figure: frames per second of the default 1080p upscaler (esrgan-thick
 * where the build has it, else slim, named in the note) at x2 from 960x540 to 1920x1080, frames
 * batched, on the self-check's backend. On a CUDA backend it times the full shape; elsewhere (the
 * CPU part that CI runs) two 32x24 stand-in frames, and the note says so. Add it with {@code
 * GpuSelfCheck.builder().probe(new EsrganSelfCheckProbe())}.
 */
public final class EsrganSelfCheckProbe implements GpuSelfCheck.Probe {
  private static final int REPS = 3;

  @Override
  public String name() {
    return "esrgan-x2-1080p";
  }

  @Override
  public GpuSelfCheck.Measurement run(Backend backend) {
    boolean full = backend instanceof TorchBackend t && t.isCuda();
    int w = full ? 960 : 32;
    int h = full ? 540 : 24;
    int batch = full ? 4 : 2;
    EsrganWeights weights =
        EsrganWeights.THICK.bundled() ? EsrganWeights.THICK : EsrganWeights.SLIM;
    List<RgbFrame> frames = new ArrayList<>();
    for (int f = 0; f < batch; f++) {
      frames.add(pattern(w, h, f));
    }
    try (EsrganUpscaler up =
        EsrganUpscaler.builder()
            .weights(weights)
            .scale(2)
            .tileSize(Math.max(w, h))
            .backend(backend)
            .build()) {
      up.upscaleByModel(frames, 2, () -> false); // warm-up: weights to the device, kernels chosen
      double[] seconds = new double[REPS];
      for (int r = 0; r < REPS; r++) {
        long t0 = System.nanoTime();
        up.upscaleByModel(frames, 2, () -> false);
        seconds[r] = (System.nanoTime() - t0) / 1e9;
      }
      Arrays.sort(seconds);
      double median = seconds[REPS / 2];
      return new GpuSelfCheck.Measurement(
          name(),
          batch + " frames " + w + "x" + h + " -> " + 2 * w + "x" + 2 * h,
          median,
          batch / median,
          "frames/s",
          weights.npmPackage()
              + " x2, network only (no resize), batch "
              + batch
              + (full ? "" : "; CPU stand-in shape, not the 1080p figure"));
    }
  }

  /** A deterministic textured frame (the network's cost does not depend on the content). */
  private static RgbFrame pattern(int w, int h, int seed) {
    float[] p = new float[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int c = 0; c < 3; c++) {
          p[(y * w + x) * 3 + c] = (float) ((x * 7 + y * 13 + c * 50 + seed * 29) % 256);
        }
      }
    }
    return new RgbFrame(w, h, p);
  }
}
