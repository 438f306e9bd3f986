package dev.reelflow.engine.sr;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;

/**
 * Per-frame bilinear resize of latents [C, T, h, w] to [C, T, H, W] with PyTorch's {@code
 * F.interpolate(mode="bilinear", align_corners=False)} sampling (source = (dst + 0.5) * in/out -
 * 0.5, clamped at 0; the right/lower neighbour clamped at the edge), as two GEMMs with the
 * separable weight matrices: rows, then columns.
 */
final class LatentResize {
  private LatentResize() {}

  /** The [out, in] interpolation matrix of one axis. */
  static float[] weights(int in, int out) {
    float[] m = new float[out * in];
    float scale = (float) in / out; // float, as PyTorch's CPU kernel computes it for float input
    for (int o = 0; o < out; o++) {
      float src = Math.max(0f, scale * (o + 0.5f) - 0.5f);
      int i0 = Math.min((int) src, in - 1);
      int i1 = Math.min(i0 + 1, in - 1);
      float l1 = src - i0;
      float l0 = 1f - l1;
      m[o * in + i0] += l0;
      m[o * in + i1] += l1;
    }
    return m;
  }

  static Tensor resize(Backend be, Tensor x, int outH, int outW) {
    int planes = (int) (x.dim(0) * x.dim(1));
    int h = (int) x.dim(2);
    int w = (int) x.dim(3);
    Tensor out = be.allocate(x.dim(0), x.dim(1), outH, outW);
    if (h == outH && w == outW) {
      be.copy(x, 0, out, 0, x.size());
      return out;
    }
    try (Tensor rw = be.fromArray(weights(w, outW), outW, w);
        Tensor rh = be.fromArray(weights(h, outH), outH, h);
        Tensor cols = be.allocate((long) planes * h, outW)) {
      // columns: [planes*h, w] x [w, outW]
      be.gemm(false, true, planes * h, outW, w, 1f, x, 0, w, rw, 0, w, 0f, cols, 0, outW);
      // rows, plane by plane: [outH, h] x [h, outW]
      be.batchedGemm(
          planes,
          false,
          false,
          outH,
          outW,
          h,
          1f,
          rh,
          0,
          h,
          0,
          cols,
          0,
          outW,
          (long) h * outW,
          0f,
          out,
          0,
          outW,
          (long) outH * outW);
    }
    return out;
  }
}
