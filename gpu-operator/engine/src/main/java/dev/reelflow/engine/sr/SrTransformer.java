package dev.reelflow.engine.sr;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.dit.DitCondition;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.DitTimestep;
import dev.reelflow.engine.dit.HunyuanDit;
import java.util.List;
import java.util.Objects;

/**
 * The SR transformer as the official SR pipeline calls it: the engine's {@link HunyuanDit} (loaded
 * from {@code transformer/<variant>}, 98 input channels) on one sample, no classifier-free
 * guidance, the mean-flow target timestep when the config has {@code use_meanflow}, no embedded
 * guidance ({@code embedded_guidance_scale} is None for both SR variants).
 */
final class SrTransformer implements SrStage.Velocity {
  private final HunyuanDit dit;
  private final DitCondition condition;
  private final Backend be;

  /**
   * @param dit the SR transformer; its input channels must be latent + {@link SrCondition#channels}
   *     (98 for 32 latent channels)
   * @param condition the prompt's text features (and, for I2V, the reference image's SigLIP states)
   */
  public SrTransformer(HunyuanDit dit, DitCondition condition, Backend backend) {
    this.dit = Objects.requireNonNull(dit);
    this.condition = Objects.requireNonNull(condition);
    this.be = Objects.requireNonNull(backend);
    DitConfig c = dit.config();
    int want = c.latentChannels() + SrCondition.channels(c.latentChannels());
    if (c.inChannels() != want) {
      throw new IllegalArgumentException(
          "transformer "
              + c.name()
              + " takes "
              + c.inChannels()
              + " input channels; the SR stage feeds "
              + want
              + " (latents, image condition, mask, upsampled base latents, ones): use an SR"
              + " variant's transformer");
    }
  }

  @Override
  public Tensor velocity(Tensor input, float timestep, float nextTimestep) {
    DitTimestep step = DitTimestep.of(timestep);
    if (dit.config().meanFlow()) {
      step = step.withTimestepR(nextTimestep);
    }
    try (Tensor out = dit.forward(input, step, List.of(condition))) {
      long[] s = out.shape(); // [1, C, T, H, W]
      Tensor v = be.allocate(s[1], s[2], s[3], s[4]);
      be.copy(out, 0, v, 0, v.size());
      return v;
    }
  }
}
