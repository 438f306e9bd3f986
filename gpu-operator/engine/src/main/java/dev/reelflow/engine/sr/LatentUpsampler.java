package dev.reelflow.engine.sr;

import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.weights.ParamSpec;
import java.util.List;

/**
 * The SR stage's latent upsampler: refines bilinearly resized base latents [C, T, H, W] on the SR
 * grid (same shape out), in float32. The official classes: {@link SrTo720pUpsampler} and {@link
 * SrTo1080pUpsampler}.
 */
interface LatentUpsampler {

  /** The official class name, as config.json's {@code _class_name} gives it. */
  String className();

  /** The parameters its config declares, by checkpoint name. */
  List<ParamSpec> params();

  /** Runs the upsampler on x [C, T, H, W]; the caller closes the result. */
  Tensor upsample(Tensor x);
}
