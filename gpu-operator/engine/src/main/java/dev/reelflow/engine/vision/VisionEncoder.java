package dev.reelflow.engine.vision;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.GenerationSpec;

/**
 * Turns an image-to-video render's reference image into the transformer's vision states (the
 * official pipeline: SigLIP so400m/14 from FLUX.1-Redux, 729 tokens x 1152, {@code
 * last_hidden_state}). The engine needs one for image-to-video with a transformer that has a vision
 * projection; real encoders plug in here.
 */
@EngineApi
public interface VisionEncoder {
  /** Identifier reported in manifests. */
  String id();

  /** Feature width per token (1152 for SigLIP). */
  int dim();

  /** Tokens per image (729 for SigLIP 384/14). */
  int tokens();

  /** The states [tokens, dim] row-major of the image (already resized to the render size). */
  float[] encode(GenerationSpec.Image image);
}
