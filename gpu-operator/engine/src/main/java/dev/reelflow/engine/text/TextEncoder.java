package dev.reelflow.engine.text;

import dev.reelflow.engine.EngineApi;

/**
 * Turns a prompt into the DiT's text conditioning. The built-in {@link ByteTextEncoder} is a
 * deterministic stand-in; real encoders (Qwen2.5-VL hidden states, ByT5 glyph features) plug in
 * behind the same interface.
 */
@EngineApi
public interface TextEncoder {
  /** Identifier reported in manifests, e.g. {@code byte-level-stand-in-v1}. */
  String id();

  /** Features of the main text stream ({@code dim} per token). */
  int dim();

  /** Features of the glyph stream per token. */
  int glyphDim();

  /** Encodes a prompt (any language; the empty prompt is valid). */
  TextFeatures encode(String prompt);

  /**
   * Encodes the negative prompt of classifier-free guidance: as {@link #encode} for the main
   * stream, without glyph tokens, as the official pipeline (its negative glyph input is always the
   * empty prompt, whatever the negative prompt quotes).
   */
  default TextFeatures encodeNegative(String negativePrompt) {
    TextFeatures f;
    try {
      f = encode(negativePrompt);
    } catch (PromptTooLongException e) {
      throw e.forField("negativePrompt");
    }
    return new TextFeatures(
        f.features(),
        f.tokens(),
        f.dim(),
        new float[0],
        0,
        f.glyphDim(),
        f.paddedTokens(),
        f.paddedGlyphTokens());
  }
}
