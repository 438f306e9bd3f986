package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import java.util.Arrays;

/**
 * Which (query block, key block) pairs a block-sparse attention computes, per head. Blocks are
 * square groups of {@code blockSize} consecutive tokens. Immutable once {@link #freeze()} was
 * called; kernels read the per-row lists of kept key blocks.
 */
@EngineApi
public final class BlockMask {
  private final int heads;
  private final int qBlocks;
  private final int kBlocks;
  private final boolean[] bits;
  private int[][] rows;

  public BlockMask(int heads, int qBlocks, int kBlocks) {
    this.heads = heads;
    this.qBlocks = qBlocks;
    this.kBlocks = kBlocks;
    this.bits = new boolean[Math.multiplyExact(Math.multiplyExact(heads, qBlocks), kBlocks)];
  }

  public int heads() {
    return heads;
  }

  public int qBlocks() {
    return qBlocks;
  }

  public int kBlocks() {
    return kBlocks;
  }

  private int index(int h, int q, int k) {
    return (h * qBlocks + q) * kBlocks + k;
  }

  public void set(int h, int q, int k, boolean keep) {
    if (rows != null) {
      throw new IllegalStateException("mask is frozen");
    }
    bits[index(h, q, k)] = keep;
  }

  public boolean get(int h, int q, int k) {
    return bits[index(h, q, k)];
  }

  /** Builds the per-row kept lists; no change afterwards. Returns this. */
  public BlockMask freeze() {
    if (rows == null) {
      int[][] r = new int[heads * qBlocks][];
      int[] tmp = new int[kBlocks];
      for (int h = 0; h < heads; h++) {
        for (int q = 0; q < qBlocks; q++) {
          int n = 0;
          int base = index(h, q, 0);
          for (int k = 0; k < kBlocks; k++) {
            if (bits[base + k]) {
              tmp[n++] = k;
            }
          }
          r[h * qBlocks + q] = Arrays.copyOf(tmp, n);
        }
      }
      rows = r;
    }
    return this;
  }

  /** Kept key blocks of one query block row, ascending. Requires {@link #freeze()}. */
  public int[] keptKeys(int h, int q) {
    if (rows == null) {
      throw new IllegalStateException("call freeze() first");
    }
    return rows[h * qBlocks + q];
  }

  /** Fraction of kept blocks over all heads, rows and columns. */
  public double keptFraction() {
    long n = 0;
    for (boolean b : bits) {
      if (b) {
        n++;
      }
    }
    return (double) n / bits.length;
  }

  /** Fraction of kept blocks inside the sub-square of the first {@code q} x {@code k} blocks. */
  public double keptFraction(int qLimit, int kLimit) {
    long n = 0;
    for (int h = 0; h < heads; h++) {
      for (int q = 0; q < qLimit; q++) {
        for (int k = 0; k < kLimit; k++) {
          if (get(h, q, k)) {
            n++;
          }
        }
      }
    }
    return (double) n / ((long) heads * qLimit * kLimit);
  }
}
