package dev.reelflow.engine.attention;

import dev.reelflow.engine.EngineApi;

/**
 * How the DiT's joint attention runs. {@link Mode#DENSE} uses the exact flash-style kernel over all
 * tokens; {@link Mode#SSTA} uses selective and sliding tile attention as in HunyuanVideo-1.5
 * (defaults: tiles 6x8x8, window 3x3x3 tiles, top-k 64 halved at <= 31 latent frames, lambda 0.7,
 * zero padding of the video grid, the text mask in effect, every block sparse).
 *
 * @param mode dense or SSTA
 * @param tile tile size in latent tokens (t, h, w); its product is the attention block size
 * @param window sliding window in tiles (t, h, w); a window covering the grid keeps every block
 * @param topk importance-selected key tiles per query tile and head (before halving)
 * @param lambda weight of similarity against redundancy in the importance score
 * @param halveTopkAtFrames halve topk when the latent grid has 2 to this many frames
 * @param repeatPad pad the video grid to whole tiles by repeating its last frame/row/column
 *     (upstream {@code attn_pad_type="repeat"}) instead of zeros ({@code "zero"}, the default)
 * @param textMask keep only the text tiles that hold valid tokens (upstream {@code
 *     attn_use_text_mask=1}, the default); false keeps every text tile, padding included
 * @param denseEvery 0 for every block sparse (upstream {@code win_type="fixed"}); n for dense
 *     attention in every n-th block and the last one ({@code win_type="hybrid"}, {@code
 *     win_ratio=n})
 */
@EngineApi
public record AttentionConfig(
    Mode mode,
    int[] tile,
    int[] window,
    int topk,
    double lambda,
    int halveTopkAtFrames,
    boolean repeatPad,
    boolean textMask,
    int denseEvery) {
  /** Attention implementation. */
  public enum Mode {
    DENSE,
    SSTA
  }

  public AttentionConfig {
    if (tile.length != 3 || window.length != 3) {
      throw new IllegalArgumentException("tile and window need 3 axes (t, h, w)");
    }
    for (int i = 0; i < 3; i++) {
      if (tile[i] < 1 || window[i] < 1) {
        throw new IllegalArgumentException("tile and window sizes must be >= 1");
      }
    }
    if (topk < 0 || lambda < 0 || lambda > 1) {
      throw new IllegalArgumentException("topk must be >= 0 and lambda in [0, 1]");
    }
    if (denseEvery < 0) {
      throw new IllegalArgumentException("denseEvery must be >= 0");
    }
    tile = tile.clone();
    window = window.clone();
  }

  /** SSTA settings with zero padding, the text mask and every block sparse. */
  public AttentionConfig(
      Mode mode, int[] tile, int[] window, int topk, double lambda, int halveTopkAtFrames) {
    this(mode, tile, window, topk, lambda, halveTopkAtFrames, false, true, 0);
  }

  /** Exact dense attention. */
  public static AttentionConfig dense() {
    return new AttentionConfig(Mode.DENSE, new int[] {6, 8, 8}, new int[] {3, 3, 3}, 64, 0.7, 31);
  }

  /** SSTA with the reference defaults. */
  public static AttentionConfig ssta() {
    return new AttentionConfig(Mode.SSTA, new int[] {6, 8, 8}, new int[] {3, 3, 3}, 64, 0.7, 31);
  }

  public AttentionConfig withTile(int t, int h, int w) {
    return new AttentionConfig(
        mode,
        new int[] {t, h, w},
        window,
        topk,
        lambda,
        halveTopkAtFrames,
        repeatPad,
        textMask,
        denseEvery);
  }

  public AttentionConfig withWindow(int t, int h, int w) {
    return new AttentionConfig(
        mode,
        tile,
        new int[] {t, h, w},
        topk,
        lambda,
        halveTopkAtFrames,
        repeatPad,
        textMask,
        denseEvery);
  }

  public AttentionConfig withTopk(int k) {
    return new AttentionConfig(
        mode, tile, window, k, lambda, halveTopkAtFrames, repeatPad, textMask, denseEvery);
  }

  public AttentionConfig withLambda(double l) {
    return new AttentionConfig(
        mode, tile, window, topk, l, halveTopkAtFrames, repeatPad, textMask, denseEvery);
  }

  /** Padding of the video grid: repeat the border (true) or zeros (false). */
  public AttentionConfig withRepeatPad(boolean repeat) {
    return new AttentionConfig(
        mode, tile, window, topk, lambda, halveTopkAtFrames, repeat, textMask, denseEvery);
  }

  /** Whether text tiles without valid tokens are masked out. */
  public AttentionConfig withTextMask(boolean mask) {
    return new AttentionConfig(
        mode, tile, window, topk, lambda, halveTopkAtFrames, repeatPad, mask, denseEvery);
  }

  /** Dense attention in every n-th block and the last (0: every block sparse). */
  public AttentionConfig withDenseEvery(int n) {
    return new AttentionConfig(
        mode, tile, window, topk, lambda, halveTopkAtFrames, repeatPad, textMask, n);
  }

  @Override
  public int[] tile() {
    return tile.clone();
  }

  @Override
  public int[] window() {
    return window.clone();
  }

  /** Tokens per tile, the block size of the sparse kernel. */
  public int blockSize() {
    return tile[0] * tile[1] * tile[2];
  }

  /**
   * Top-k in effect for a grid with {@code latentFrames} frames: halved for short clips, but not
   * for a single frame (an image uses its own tile and window, upstream).
   */
  public int effectiveTopk(int latentFrames) {
    return latentFrames > 1 && latentFrames <= halveTopkAtFrames ? topk / 2 : topk;
  }

  /**
   * Whether block {@code index} of {@code blocks} attends densely: always in dense mode; in SSTA
   * mode every {@code denseEvery}-th block and the last one when {@code denseEvery > 0}.
   */
  public boolean denseAt(int index, int blocks) {
    if (mode == Mode.DENSE) {
      return true;
    }
    return denseEvery > 0 && ((index + 1) % denseEvery == 0 || index + 1 == blocks);
  }

  @Override
  public String toString() {
    return mode == Mode.DENSE
        ? "dense"
        : "ssta(tile="
            + tile[0]
            + "x"
            + tile[1]
            + "x"
            + tile[2]
            + ", window="
            + window[0]
            + "x"
            + window[1]
            + "x"
            + window[2]
            + ", topk="
            + topk
            + ", lambda="
            + lambda
            + (repeatPad ? ", pad=repeat" : "")
            + (textMask ? "" : ", text-mask=off")
            + (denseEvery > 0 ? ", dense-every=" + denseEvery : "")
            + ")";
  }
}
