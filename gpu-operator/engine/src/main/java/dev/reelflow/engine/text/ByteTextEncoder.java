package dev.reelflow.engine.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Deterministic byte-level text encoder: the prompt's UTF-8 bytes (so Chinese, English and any
 * other script work alike) each map to a fixed pseudo-random embedding plus a sinusoidal position
 * code, after a BOS token. Quoted spans ("...", “...”, 「...」, '...') additionally go through the
 * glyph path, byte by byte, like the reference's ByT5 glyph encoder that sees only quoted text.
 *
 * <p>This is not a trained language model: it gives distinct, stable conditioning per prompt so the
 * pipeline is exercised end to end (the random-init tiny demo). Manifests report its {@link #id()},
 * which says it is a stand-in; a checkpoint folder with {@code text_encoder/} gets {@link
 * HunyuanTextEncoder}.
 */
public final class ByteTextEncoder implements TextEncoder {
  private static final Pattern QUOTED =
      Pattern.compile("\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|\u300c([^\u300d]+)\u300d|'([^']+)'");
  private static final int BOS = 256;

  /** Glyph sequence length (the official {@code byt5_max_length}). */
  public static final int GLYPH_TOKENS = 256;

  private final int dim;
  private final int glyphDim;
  private final int maxTokens;
  private final float[] table; // 257 x dim
  private final float[] glyphTable; // 257 x glyphDim

  /**
   * @param dim feature width of the main stream
   * @param glyphDim feature width of the glyph stream
   * @param maxTokens prompts are truncated to this many bytes (the reference uses 1000 tokens)
   */
  public ByteTextEncoder(int dim, int glyphDim, int maxTokens) {
    this.dim = dim;
    this.glyphDim = glyphDim;
    this.maxTokens = maxTokens;
    this.table = table(0x5EED_7E47L, dim);
    this.glyphTable = table(0x6170_4817L, glyphDim);
  }

  private static float[] table(long seed, int d) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] t = new float[257 * d];
    for (int i = 0; i < t.length; i++) {
      t[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return t;
  }

  @Override
  public String id() {
    return "byte-level-stand-in-v1";
  }

  @Override
  public int dim() {
    return dim;
  }

  @Override
  public int glyphDim() {
    return glyphDim;
  }

  /** The quoted spans of a prompt, in order. */
  public static List<String> quotedSpans(String prompt) {
    List<String> out = new ArrayList<>();
    Matcher m = QUOTED.matcher(prompt);
    while (m.find()) {
      for (int g = 1; g <= m.groupCount(); g++) {
        if (m.group(g) != null) {
          out.add(m.group(g));
        }
      }
    }
    return out;
  }

  @Override
  public TextFeatures encode(String prompt) {
    byte[] bytes = prompt.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(bytes.length, maxTokens - 1) + 1;
    float[] f = embed(bytes, n, table, dim, true);
    StringBuilder quoted = new StringBuilder();
    for (String q : quotedSpans(prompt)) {
      quoted.append(quoted.length() == 0 ? "" : " ").append(q);
    }
    byte[] qb = quoted.toString().getBytes(StandardCharsets.UTF_8);
    int gn = Math.min(qb.length, GLYPH_TOKENS);
    float[] g = gn == 0 ? new float[0] : embed(qb, gn, glyphTable, glyphDim, false);
    // padded like the official pipeline: the MLLM to maxTokens, ByT5 to 256
    return new TextFeatures(f, n, dim, g, gn, glyphDim, maxTokens, GLYPH_TOKENS);
  }

  private static float[] embed(byte[] bytes, int n, float[] tab, int d, boolean bos) {
    float[] f = new float[n * d];
    for (int i = 0; i < n; i++) {
      int token = bos ? (i == 0 ? BOS : bytes[i - 1] & 0xff) : bytes[i] & 0xff;
      for (int c = 0; c < d; c++) {
        double freq = Math.pow(10000, -(double) (c / 2 * 2) / d);
        double pos = (c % 2 == 0) ? Math.sin(i * freq) : Math.cos(i * freq);
        f[i * d + c] = (float) (tab[token * d + c] + 0.5 * pos);
      }
    }
    return f;
  }
}
