package dev.reelflow.engine.vae;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.ParamSpec.Init;
import dev.reelflow.engine.weights.WeightSet;
import java.util.List;

/**
 * The building blocks the official VAE module defines and its SR upsamplers reuse ({@code
 * CausalConv3d}, {@code RMS_norm}, {@code swish}, {@code ResnetBlock}), over one {@link WeightSet}
 * by checkpoint name, plus the matching parameter declarations. Activations are one sample,
 * channel-first: [C, T, H, W].
 */
public final class CausalBlocks {
  private final WeightSet w;
  private final Backend be;

  public CausalBlocks(WeightSet weights, Backend backend) {
    this.w = weights;
    this.be = backend;
  }

  // ------------------------------------------------------------------ parameter declarations

  /** A (causal) 3D convolution {@code name.weight [out, in, k, k, k]} and {@code name.bias}. */
  public static void conv(List<ParamSpec> p, String name, int out, int in, int k) {
    p.add(new ParamSpec(name + ".weight", new long[] {out, in, k, k, k}, Init.FAN_IN));
    p.add(new ParamSpec(name + ".bias", new long[] {out}, Init.ZEROS));
  }

  /** An {@code RMS_norm} over channels: {@code name.gamma [c, 1, 1, 1]}. */
  public static void norm(List<ParamSpec> p, String name, int c) {
    p.add(new ParamSpec(name + ".gamma", new long[] {c, 1, 1, 1}, Init.ONES));
  }

  /** A {@code ResnetBlock}: norm1, conv1, norm2, conv2 and a 1x1x1 nin_shortcut when in != out. */
  public static void resnet(List<ParamSpec> p, String b, int in, int out) {
    norm(p, b + ".norm1", in);
    conv(p, b + ".conv1.conv", out, in, 3);
    norm(p, b + ".norm2", out);
    conv(p, b + ".conv2.conv", out, out, 3);
    if (in != out) {
      conv(p, b + ".nin_shortcut", out, in, 1);
    }
  }

  // ------------------------------------------------------------------ layers

  /** CausalConv3d: replicate pad (time k-1 in front, h/w k/2), then a valid convolution. */
  public Tensor causalConv(Tensor x, String name) {
    Tensor weight = w.get(name + ".weight");
    Tensor bias = w.get(name + ".bias");
    int k = (int) weight.dim(2);
    int c = (int) x.dim(0);
    int t = (int) x.dim(1);
    int h = (int) x.dim(2);
    int wd = (int) x.dim(3);
    int oc = (int) weight.dim(0);
    if (k == 1) {
      Tensor out = be.allocate(oc, t, h, wd);
      be.conv3d(x, weight, bias, new int[] {1, 1, 1}, new int[] {0, 0, 0}, out);
      return out;
    }
    try (Tensor padded = be.allocate(c, t + k - 1, h + 2 * (k / 2), wd + 2 * (k / 2))) {
      be.padReplicate3d(x, k - 1, 0, k / 2, k / 2, padded);
      Tensor out = be.allocate(oc, t, h, wd);
      be.conv3d(padded, weight, bias, new int[] {1, 1, 1}, new int[] {0, 0, 0}, out);
      return out;
    }
  }

  /** RMS_norm ({@code F.normalize(x, dim=1) * sqrt(C) * gamma}) followed by swish. */
  public Tensor normSwish(Tensor x, String name) {
    Tensor out = be.allocate(x.shape());
    be.channelRmsNorm(x, w.get(name + ".gamma"), 1e-12f, out);
    be.silu(out, out);
    return out;
  }

  /**
   * ResnetBlock: x + conv2(swish(norm2(conv1(swish(norm1(x)))))), x through nin_shortcut if any.
   */
  public Tensor resnet(Tensor x, String b) {
    Tensor h1;
    try (Tensor n1 = normSwish(x, b + ".norm1")) {
      h1 = causalConv(n1, b + ".conv1.conv");
    }
    Tensor h2;
    try (Tensor n2 = normSwish(h1, b + ".norm2")) {
      h1.close();
      h2 = causalConv(n2, b + ".conv2.conv");
    }
    if (w.contains(b + ".nin_shortcut.weight")) {
      try (Tensor s = causalConv(x, b + ".nin_shortcut")) {
        be.add(h2, s, h2);
      }
    } else {
      be.add(h2, x, h2);
    }
    return h2;
  }

  /** {@code repeat_interleave(r, dim=channels)}. */
  public Tensor repeatChannels(Tensor x, int r) {
    int c = (int) x.dim(0);
    int[] idx = new int[c * r];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i / r;
    }
    Tensor out = be.allocate(c * r, x.dim(1), x.dim(2), x.dim(3));
    be.gatherRows(x.view(c, x.size() / c), idx, out.view(c * r, x.size() / c));
    return out;
  }
}
