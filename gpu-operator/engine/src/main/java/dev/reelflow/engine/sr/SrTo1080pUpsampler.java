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
 * The official {@code SRTo1080pUpsampler}: a VAE-decoder-style stack at constant resolution, a
 * causal conv in plus the input repeated over channels, {@code num_res_blocks + 1} resnet blocks
 * per level of {@code block_out_channels} (no resampling: the official class defines no upsample
 * modules), RMS norm, swish and a causal conv out. {@code is_residual} is read and, as in the
 * official forward, unused. Tensor names: {@code conv_in.conv.*}, {@code up.<i>.block.<j>.*},
 * {@code norm_out.gamma}, {@code conv_out.conv.*}.
 */
final class SrTo1080pUpsampler implements LatentUpsampler {
  static final String CLASS = "SRTo1080pUpsampler";

  /**
   * config.json of upsampler/1080p_sr_distilled.
   *
   * @param zChannels {@code z_channels}
   * @param outChannels {@code out_channels}
   * @param blockOut {@code block_out_channels}
   * @param numResBlocks {@code num_res_blocks} (default 2)
   * @param isResidual {@code is_residual} (default false; unused by the official forward)
   */
  public record Config(
      int zChannels, int outChannels, int[] blockOut, int numResBlocks, boolean isResidual) {
    private static final Set<String> KEYS =
        Set.of("z_channels", "out_channels", "block_out_channels", "num_res_blocks", "is_residual");

    public Config {
      blockOut = blockOut.clone();
      if (zChannels <= 0 || outChannels <= 0 || blockOut.length == 0 || numResBlocks < 0) {
        throw new IllegalArgumentException("SRTo1080pUpsampler config has non-positive sizes");
      }
      if (blockOut[0] % zChannels != 0) {
        throw new IllegalArgumentException(
            "SRTo1080pUpsampler: block_out_channels[0] must be a multiple of z_channels");
      }
    }

    @Override
    public int[] blockOut() {
      return blockOut.clone();
    }

    /** Reads a parsed config.json; unknown keys (other than '_...') and missing ones fail. */
    public static Config fromConfig(Map<String, ?> json) {
      ConfigKeys k =
          new ConfigKeys(
              CLASS, json, KEYS, Set.of("z_channels", "out_channels", "block_out_channels"));
      return new Config(
          k.integer("z_channels"),
          k.integer("out_channels"),
          k.integers("block_out_channels"),
          json.containsKey("num_res_blocks") ? k.integer("num_res_blocks") : 2,
          json.containsKey("is_residual") && k.bool("is_residual"));
    }
  }

  private final Config cfg;
  private final Backend be;
  private final CausalBlocks blocks;

  public SrTo1080pUpsampler(Config cfg, WeightSet weights, Backend backend) {
    this.cfg = cfg;
    this.be = backend;
    this.blocks = new CausalBlocks(weights, backend);
  }

  public static List<ParamSpec> params(Config c) {
    List<ParamSpec> p = new ArrayList<>();
    int[] bo = c.blockOut();
    int in = bo[0];
    CausalBlocks.conv(p, "conv_in.conv", in, c.zChannels(), 3);
    for (int i = 0; i < bo.length; i++) {
      for (int j = 0; j < c.numResBlocks() + 1; j++) {
        CausalBlocks.resnet(p, "up." + i + ".block." + j, in, bo[i]);
        in = bo[i];
      }
    }
    CausalBlocks.norm(p, "norm_out", in);
    CausalBlocks.conv(p, "conv_out.conv", c.outChannels(), in, 3);
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
  public Tensor upsample(Tensor z) {
    int[] bo = cfg.blockOut();
    Tensor h = blocks.causalConv(z, "conv_in.conv");
    try (Tensor rep = blocks.repeatChannels(z, bo[0] / cfg.zChannels())) {
      be.add(h, rep, h);
    }
    for (int i = 0; i < bo.length; i++) {
      for (int j = 0; j < cfg.numResBlocks() + 1; j++) {
        Tensor next = blocks.resnet(h, "up." + i + ".block." + j);
        h.close();
        h = next;
      }
    }
    try (Tensor n = blocks.normSwish(h, "norm_out")) {
      h.close();
      return blocks.causalConv(n, "conv_out.conv");
    }
  }
}
