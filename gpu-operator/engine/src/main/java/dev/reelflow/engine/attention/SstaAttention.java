package dev.reelflow.engine.attention;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BlockMask;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.backend.TileSelection;
import java.util.Arrays;

/**
 * Selective and sliding tile attention (SSTA) over a joint [video | text] sequence, following the
 * HunyuanVideo-1.5 reference:
 *
 * <ol>
 *   <li>the video grid is padded to whole tiles (zeros, or its border repeated) and permuted tile
 *       by tile; a single-frame grid uses the image tile of the same block size and a 1x1x1 window;
 *       the text sequence is padded by repeating its last token to whole blocks;
 *   <li>every query tile keeps the key tiles of a sliding window clamped at the borders; text rows
 *       and columns are kept up to the last text tile that holds a valid token (the text mask,
 *       {@code ceil(valid / block)} tiles, at least one); later text tiles attend only to
 *       themselves;
 *   <li>plus, per head, its top-k video key tiles by {@code lambda*sim - (1-lambda)*redundancy}
 *       over L2-normalised tile means of q and k;
 *   <li>exact softmax inside each kept block: padding tokens take part, as upstream, including the
 *       text stream's padding tokens that share the last valid text tile (the caller passes the
 *       text sequence with its padding, valid tokens first).
 * </ol>
 *
 * Tile scoring and top-k run on the backend ({@link Backend#topTiles}); the mask is built on the
 * host from the selected indices (it is tiny: tiles x tiles); the kernel is the backend's {@link
 * Backend#blockSparseAttention}.
 */
@EngineApi
public final class SstaAttention {
  private final AttentionConfig config;

  public SstaAttention(AttentionConfig config) {
    this.config = config;
  }

  public AttentionConfig config() {
    return config;
  }

  /**
   * Tile layout of a latent grid and its text.
   *
   * @param grid latent grid (t, h, w)
   * @param tile tile in tokens (the image tile for a single frame)
   * @param window sliding window in tiles
   * @param tiles tiles per axis
   * @param videoTiles tiles of the padded grid
   * @param textTiles tiles of the padded text sequence
   * @param validTextTiles text tiles kept by the text mask (all of them without the mask)
   * @param repeatPad video padding repeats the border instead of zeros
   */
  public record Layout(
      int[] grid,
      int[] tile,
      int[] window,
      int[] tiles,
      int videoTiles,
      int textTiles,
      int validTextTiles,
      boolean repeatPad) {
    public int blockSize() {
      return tile[0] * tile[1] * tile[2];
    }

    public int totalTiles() {
      return videoTiles + textTiles;
    }

    /** Padded sequence length. */
    public int paddedTokens() {
      return totalTiles() * blockSize();
    }
  }

  /** The tile layout for a grid (t, h, w) and {@code textTokens} text tokens, all valid. */
  public Layout layout(int[] grid, int textTokens) {
    return layout(grid, textTokens, textTokens);
  }

  /**
   * The tile layout for a grid (t, h, w) and a text sequence of {@code textTokens} tokens of which
   * the first {@code validTextTokens} are valid (the rest is padding).
   */
  public Layout layout(int[] grid, int textTokens, int validTextTokens) {
    if (validTextTokens < 0 || validTextTokens > textTokens) {
      throw new IllegalArgumentException(
          "valid text tokens " + validTextTokens + " not in [0, " + textTokens + "]");
    }
    int[] tile = config.tile();
    int[] window = config.window();
    int block = tile[0] * tile[1] * tile[2];
    if (grid[0] == 1) {
      // upstream: an image (one latent frame) takes the 1-frame tile of the same block size
      tile =
          switch (block) {
            case 384 -> new int[] {1, 16, 24};
            case 128 -> new int[] {1, 16, 8};
            case 64 -> new int[] {1, 8, 8};
            case 16 -> new int[] {1, 4, 4};
            default ->
                throw new IllegalArgumentException(
                    "SSTA on a single latent frame needs a tile of 16, 64, 128 or 384 tokens, got "
                        + block);
          };
      window = new int[] {1, 1, 1};
    }
    int[] tiles = new int[3];
    for (int i = 0; i < 3; i++) {
      tiles[i] = (grid[i] + tile[i] - 1) / tile[i];
    }
    int textTiles = (textTokens + block - 1) / block;
    int validTiles =
        config.textMask()
            ? Math.min(textTiles, Math.max(1, (validTextTokens + block - 1) / block))
            : textTiles;
    return new Layout(
        grid.clone(),
        tile,
        window,
        tiles,
        tiles[0] * tiles[1] * tiles[2],
        textTiles,
        validTiles,
        config.repeatPad());
  }

  /**
   * Row index map from the padded, tile-permuted sequence to the original [video | text] rows: -1
   * for zero padding (or the nearest border row with repeat padding), the last text row for text
   * padding.
   */
  public static int[] permutation(Layout l, int textTokens) {
    int block = l.blockSize();
    int[] idx = new int[l.paddedTokens()];
    int[] g = l.grid();
    int[] t = l.tile();
    int pos = 0;
    for (int it = 0; it < l.tiles()[0]; it++) {
      for (int ih = 0; ih < l.tiles()[1]; ih++) {
        for (int iw = 0; iw < l.tiles()[2]; iw++) {
          for (int a = 0; a < t[0]; a++) {
            for (int b = 0; b < t[1]; b++) {
              for (int c = 0; c < t[2]; c++) {
                int tt = it * t[0] + a;
                int hh = ih * t[1] + b;
                int ww = iw * t[2] + c;
                boolean inside = tt < g[0] && hh < g[1] && ww < g[2];
                if (!inside && l.repeatPad()) {
                  tt = Math.min(tt, g[0] - 1);
                  hh = Math.min(hh, g[1] - 1);
                  ww = Math.min(ww, g[2] - 1);
                  inside = true;
                }
                idx[pos++] = inside ? (tt * g[1] + hh) * g[2] + ww : -1;
              }
            }
          }
        }
      }
    }
    int videoTokens = g[0] * g[1] * g[2];
    for (int i = 0; i < l.textTiles() * block; i++) {
      idx[pos++] = videoTokens + Math.min(i, textTokens - 1);
    }
    return idx;
  }

  /** Sliding-window keep test between two video tiles, with the reference's border clamping. */
  public static boolean inWindow(int[] qTile, int[] kTile, int[] tiles, int[] window) {
    for (int a = 0; a < 3; a++) {
      int half = window[a] / 2;
      // np.clip(q, half, n-1-half): with half > n-1-half the upper bound wins (whole axis kept)
      int centre = Math.min(Math.max(qTile[a], half), tiles[a] - 1 - half);
      if (Math.abs(centre - kTile[a]) > half) {
        return false;
      }
    }
    return true;
  }

  static int[] coords(int tileId, int[] tiles) {
    return new int[] {
      tileId / (tiles[1] * tiles[2]), (tileId / tiles[2]) % tiles[1], tileId % tiles[2]
    };
  }

  /**
   * Importance scores per head: {@code scores[h][i][j] = lambda * (qm_i . km_j + 1)/2 - (1 -
   * lambda) * mean_{i' != j}((km_i' . km_j + 1)/2)} over video tiles. {@code qMeans} and {@code
   * kMeans} are the per-tile means [videoTiles, heads*headDim] of the permuted, zero-padded q and k
   * (the divisor counts the padding, as upstream; the L2 normalisation here removes it).
   */
  public static float[][][] importanceScores(
      float[] qMeans, float[] kMeans, int videoTiles, int heads, int headDim, double lambda) {
    return TileSelection.scores(qMeans, kMeans, videoTiles, heads, headDim, lambda);
  }

  /**
   * The block mask: window OR per-head top-k over video tiles; text rows and columns kept up to the
   * last valid text tile; text tiles beyond it keep only themselves.
   *
   * @param scores per-head importance scores from {@link #importanceScores}
   */
  public BlockMask mask(Layout l, float[][][] scores, int heads) {
    int k = Math.min(config.effectiveTopk(l.grid()[0]), l.videoTiles());
    return maskFromTop(l, k > 0 ? TileSelection.topTiles(scores, k) : null, heads);
  }

  /**
   * The block mask from selected tiles: window OR {@code top[h][i]} (from {@link Backend#topTiles},
   * null for none) over video tiles; text rows and columns kept.
   */
  public BlockMask maskFromTop(Layout l, int[][][] top, int heads) {
    int n = l.totalTiles();
    int nv = l.videoTiles();
    int[] tiles = l.tiles();
    int[] window = l.window();
    int kept = nv + l.validTextTiles();
    BlockMask m = new BlockMask(heads, n, n);
    boolean[][] win = new boolean[nv][nv];
    for (int i = 0; i < nv; i++) {
      int[] qc = coords(i, tiles);
      for (int j = 0; j < nv; j++) {
        win[i][j] = inWindow(qc, coords(j, tiles), tiles, window);
      }
    }
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          boolean keep = i >= kept || j >= kept ? i == j : i >= nv || j >= nv || win[i][j];
          m.set(h, i, j, keep);
        }
      }
      if (top != null) {
        for (int i = 0; i < nv; i++) {
          for (int j : top[h][i]) {
            m.set(h, i, j, true);
          }
        }
      }
    }
    return m.freeze();
  }

  /** Result of one SSTA call: output written, plus the mask for inspection. */
  public record Stats(BlockMask mask, Layout layout) {
    /** Kept fraction over the whole mask (text included), the upstream {@code sparse_ratio}. */
    public double keptFraction() {
      return mask.keptFraction();
    }

    /** Kept fraction of the video x video part. */
    public double keptVideoFraction() {
      return mask.keptFraction(layout.videoTiles(), layout.videoTiles());
    }
  }

  /**
   * Joint attention of one sample: q, k, v, out are [videoTokens + textTokens, heads*headDim] in
   * [video (t,h,w row-major) | text] order, every text token valid.
   */
  public Stats attend(
      Backend be,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor out,
      int[] grid,
      int textTokens,
      int heads,
      int headDim,
      float scale) {
    return attend(be, q, k, v, out, grid, textTokens, textTokens, heads, headDim, scale);
  }

  /**
   * Joint attention of one sample over [video (t,h,w row-major) | text]: q, k, v, out are
   * [videoTokens + textTokens, heads*headDim]; the first {@code validTextTokens} text tokens are
   * valid, the rest is the text stream's padding (which takes part where its tile is kept, as
   * upstream).
   */
  public Stats attend(
      Backend be,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor out,
      int[] grid,
      int textTokens,
      int validTextTokens,
      int heads,
      int headDim,
      float scale) {
    Layout l = layout(grid, textTokens, validTextTokens);
    int[] perm = permutation(l, textTokens);
    int ld = heads * headDim;
    int padded = l.paddedTokens();
    try (Tensor pq = be.allocate(padded, ld);
        Tensor pk = be.allocate(padded, ld);
        Tensor pv = be.allocate(padded, ld);
        Tensor po = be.allocate(padded, ld)) {
      be.gatherRows(q, perm, pq);
      be.gatherRows(k, perm, pk);
      be.gatherRows(v, perm, pv);
      int nv = l.videoTiles();
      // tile means, scores and top-k on the backend's device; only the indices come back
      int topk = Math.min(config.effectiveTopk(grid[0]), nv);
      int[][][] top = null;
      if (topk > 0) {
        try (Tensor qm = be.allocate(nv, ld);
            Tensor km = be.allocate(nv, ld)) {
          be.groupMeanRows(pq.slice(0, (long) nv * l.blockSize(), ld), l.blockSize(), qm);
          be.groupMeanRows(pk.slice(0, (long) nv * l.blockSize(), ld), l.blockSize(), km);
          top = be.topTiles(qm, km, heads, headDim, config.lambda(), topk);
        }
      }
      BlockMask mask = maskFromTop(l, top, heads);
      be.blockSparseAttention(pq, pk, pv, po, heads, headDim, l.blockSize(), mask, scale);
      // un-permute: the first occurrence of every original row carries its output
      int rows = grid[0] * grid[1] * grid[2] + textTokens;
      int[] back = new int[rows];
      Arrays.fill(back, -1);
      for (int i = 0; i < perm.length; i++) {
        if (perm[i] >= 0 && back[perm[i]] < 0) {
          back[perm[i]] = i;
        }
      }
      be.gatherRows(po, back, out);
      return new Stats(mask, l);
    }
  }
}
