package dev.reelflow.engine.text;

/**
 * Encoder output for one prompt: per-token features of the main text encoder (the MLLM stand-in,
 * {@code tokens x dim}) and of the glyph encoder for quoted text ({@code glyphTokens x glyphDim},
 * possibly zero tokens). Only valid tokens are carried; there is no padding.
 */
public record TextFeatures(
    float[] features, int tokens, int dim, float[] glyph, int glyphTokens, int glyphDim) {
  public TextFeatures {
    if (tokens < 1 || features.length != tokens * dim) {
      throw new IllegalArgumentException("text features need >= 1 token of " + dim + " values");
    }
    if (glyph.length != glyphTokens * glyphDim) {
      throw new IllegalArgumentException(
          "glyph features do not match " + glyphTokens + "x" + glyphDim);
    }
  }
}
