package dev.reelflow.engine.dit;

import dev.reelflow.engine.text.TextFeatures;
import java.util.Objects;

/**
 * The conditioning of one sample of a transformer forward: its text features and, for
 * image-to-video, the SigLIP states of the reference image.
 *
 * <p>As the official pipeline does, a text-to-video sample still has {@code visionTokens} vision
 * tokens when the model has a vision projection: zero states, masked out, which enter the text
 * stream as padding (the condition-type embedding of vision only); an image-to-video sample's
 * vision tokens are valid and come first.
 *
 * @param text the prompt's text (and glyph) features
 * @param vision SigLIP states [visionTokens, visionDim] row-major, or null for text-to-video
 * @param visionTokens vision tokens (729 for SigLIP 384/14)
 */
public record DitCondition(TextFeatures text, float[] vision, int visionTokens) {
  public DitCondition {
    Objects.requireNonNull(text, "text");
    if (visionTokens < 0) {
      throw new IllegalArgumentException("visionTokens must be >= 0");
    }
  }

  /** Text-to-video: zero vision states, masked ({@link DitConfig#VISION_TOKENS} tokens). */
  public static DitCondition t2v(TextFeatures text) {
    return new DitCondition(text, null, DitConfig.VISION_TOKENS);
  }

  /** Image-to-video with the reference image's SigLIP states [tokens, dim]. */
  public static DitCondition i2v(TextFeatures text, float[] siglipStates, int tokens) {
    Objects.requireNonNull(siglipStates, "siglipStates");
    return new DitCondition(text, siglipStates, tokens);
  }

  /** Whether the sample carries image (SigLIP) states. */
  public boolean imageConditioned() {
    return vision != null;
  }
}
