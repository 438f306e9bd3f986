package dev.reelflow.engine.text;

/**
 * Encoder output for one prompt: per-token features of the main text encoder (the MLLM, {@code
 * tokens x dim}) and of the glyph encoder for quoted text ({@code glyphTokens x glyphDim}, possibly
 * zero tokens). Only valid tokens are carried; {@code paddedTokens} and {@code paddedGlyphTokens}
 * are the lengths the encoder pads to (the official pipeline: 1000 MLLM tokens, 256 ByT5 tokens),
 * which fix where the padding sits in the transformer's text stream (it matters for SSTA, whose
 * last text tile holds padding tokens).
 *
 * @param features valid MLLM token features, row-major
 * @param tokens valid MLLM tokens (at least 1)
 * @param dim MLLM feature width
 * @param glyph valid glyph token features, row-major
 * @param glyphTokens valid glyph tokens (0 when the prompt quotes no text)
 * @param glyphDim glyph feature width
 * @param paddedTokens MLLM sequence length with padding ({@code >= tokens})
 * @param paddedGlyphTokens glyph sequence length with padding ({@code >= glyphTokens})
 */
public record TextFeatures(
    float[] features,
    int tokens,
    int dim,
    float[] glyph,
    int glyphTokens,
    int glyphDim,
    int paddedTokens,
    int paddedGlyphTokens) {
  public TextFeatures {
    if (tokens < 1 || features.length != tokens * dim) {
      throw new IllegalArgumentException("text features need >= 1 token of " + dim + " values");
    }
    if (glyph.length != glyphTokens * glyphDim) {
      throw new IllegalArgumentException(
          "glyph features do not match " + glyphTokens + "x" + glyphDim);
    }
    if (paddedTokens < tokens || paddedGlyphTokens < glyphTokens) {
      throw new IllegalArgumentException(
          "padded lengths "
              + paddedTokens
              + "/"
              + paddedGlyphTokens
              + " are shorter than the valid tokens "
              + tokens
              + "/"
              + glyphTokens);
    }
  }

  /** Features without padding: the padded lengths equal the valid ones. */
  public TextFeatures(
      float[] features, int tokens, int dim, float[] glyph, int glyphTokens, int glyphDim) {
    this(features, tokens, dim, glyph, glyphTokens, glyphDim, tokens, glyphTokens);
  }
}
