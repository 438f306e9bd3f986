package dev.reelflow.engine.sr;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.vae.CausalBlocks;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The official {@code SRTo720pUpsampler}: a causal conv in, {@code num_blocks} residual blocks of
 * three causal convs with SiLU between them, a causal conv out, plus the input when {@code
 * global_residual} is set and the shapes agree. Tensor names: {@code in_conv.conv.*}, {@code
 * blocks.<i>.block.{0,2,4}.conv.*}, {@code out_conv.conv.*}.
 */
final class SrTo720pUpsampler implements LatentUpsampler {
  static final String CLASS = "SRTo720pUpsampler";

  /**
   * config.json of upsampler/720p_sr_distilled.
   *
   * @param inChannels {@code in_channels}
   * @param outChannels {@code out_channels}
   * @param hiddenChannels {@code hidden_channels} (the official default when null: 64)
   * @param numBlocks {@code num_blocks} (default 6)
   * @param globalResidual {@code global_residual} (default false)
   */
  public record Config(
      int inChannels, int outChannels, int hiddenChannels, int numBlocks, boolean globalResidual) {
    private static final Set<String> KEYS =
        Set.of("in_channels", "out_channels", "hidden_channels", "num_blocks", "global_residual");

    public Config {
      if (inChannels <= 0 || outChannels <= 0 || hiddenChannels <= 0 || numBlocks < 0) {
        throw new IllegalArgumentException("SRTo720pUpsampler config has non-positive sizes");
      }
    }

    /** Reads a parsed config.json; unknown keys (other than '_...') and missing ones fail. */
    public static Config fromConfig(Map<String, ?> json) {
      ConfigKeys k = new ConfigKeys(CLASS, json, KEYS, Set.of("in_channels", "out_channels"));
      Object hidden = json.get("hidden_channels");
      return new Config(
          k.integer("in_channels"),
          k.integer("out_channels"),
          hidden == null ? 64 : k.integer("hidden_channels"),
          json.containsKey("num_blocks") ? k.integer("num_blocks") : 6,
          json.containsKey("global_residual") && k.bool("global_residual"));
    }
  }

  private final Config cfg;
  private final Backend be;
  private final CausalBlocks blocks;

  public SrTo720pUpsampler(Config cfg, WeightSet weights, Backend backend) {
    this.cfg = cfg;
    this.be = backend;
    this.blocks = new CausalBlocks(weights, backend);
  }

  public static List<ParamSpec> params(Config c) {
    List<ParamSpec> p = new ArrayList<>();
    CausalBlocks.conv(p, "in_conv.conv", c.hiddenChannels(), c.inChannels(), 3);
    for (int b = 0; b < c.numBlocks(); b++) {
      for (int j = 0; j < 3; j++) {
        CausalBlocks.conv(
            p,
            "blocks." + b + ".block." + (2 * j) + ".conv",
            c.hiddenChannels(),
            c.hiddenChannels(),
            3);
      }
    }
    CausalBlocks.conv(p, "out_conv.conv", c.outChannels(), c.hiddenChannels(), 3);
    return p;
  }

  public Config config() {
    return cfg;
  }

  @Override
  public String className() {
    return CLASS;
  }

  @Override
  public List<ParamSpec> params() {
    return params(cfg);
  }

  @Override
  public Tensor upsample(Tensor x) {
    Tensor y = blocks.causalConv(x, "in_conv.conv");
    for (int b = 0; b < cfg.numBlocks(); b++) {
      String p = "blocks." + b + ".block.";
      Tensor r = y;
      try (Tensor a = blocks.causalConv(r, p + "0.conv")) {
        be.silu(a, a);
        try (Tensor c = blocks.causalConv(a, p + "2.conv")) {
          be.silu(c, c);
          Tensor d = blocks.causalConv(c, p + "4.conv");
          be.add(d, r, d);
          r.close();
          y = d;
        }
      }
    }
    Tensor out = blocks.causalConv(y, "out_conv.conv");
    y.close();
    if (cfg.globalResidual() && java.util.Arrays.equals(out.shape(), x.shape())) {
      be.add(out, x, out);
    }
    return out;
  }
}
