package dev.reelflow.engine.text;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;

/**
 * Exact attention with an additive score bias, on the engine's {@link Backend} primitives (batched
 * GEMM, add, softmax), for the text encoders: grouped-query heads (each key/value head serves
 * {@code heads / kvHeads} query heads, read in place with a zero batch stride), a bias per head or
 * shared by all heads (a causal/padding mask, T5's relative position bias). The scores of one
 * key/value group are materialised ({@code heads/kvHeads x Sq x Sk} floats), which is small at text
 * lengths (about 34 MB for Qwen's 7 heads per group at 1,100 tokens).
 *
 * <p>Masked keys carry {@link #MASKED} (float32's lowest value, as transformers' masks do), so a
 * query whose keys are all masked attends uniformly instead of producing NaN.
 */
final class BiasedAttention {
  /** The bias of a masked (query, key) pair. */
  static final float MASKED = -Float.MAX_VALUE;

  private BiasedAttention() {}

  /**
   * {@code out = softmax(scale * q k^T + bias) v} per head.
   *
   * @param q [sq, heads * headDim]
   * @param k [sk, kvHeads * headDim]
   * @param v [sk, kvHeads * headDim]
   * @param bias [biasHeads, sq, sk] with biasHeads 1 (shared) or {@code heads}; null for none
   * @param out [sq, heads * headDim], must not alias q, k or v
   */
  static void run(
      Backend b,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor bias,
      Tensor out,
      int sq,
      int sk,
      int heads,
      int kvHeads,
      int headDim,
      float scale) {
    if (heads % kvHeads != 0) {
      throw new IllegalArgumentException(heads + " query heads do not group over " + kvHeads);
    }
    int group = heads / kvHeads;
    long plane = (long) sq * sk;
    boolean perHead = bias != null && bias.size() == heads * plane;
    if (bias != null && !perHead && bias.size() != plane) {
      throw new IllegalArgumentException("attention bias " + bias + " is not [1 or heads, sq, sk]");
    }
    int qRow = heads * headDim;
    int kvRow = kvHeads * headDim;
    try (Tensor scores = b.allocate(group, sq, sk)) {
      for (int g = 0; g < kvHeads; g++) {
        b.batchedGemm(
            group,
            false,
            true,
            sq,
            sk,
            headDim,
            scale,
            q,
            (long) g * group * headDim,
            qRow,
            headDim,
            k,
            (long) g * headDim,
            kvRow,
            0,
            0f,
            scores,
            0,
            sk,
            plane);
        if (bias != null) {
          for (int h = 0; h < group; h++) {
            Tensor s = scores.slice(h * plane, sq, sk);
            Tensor bh = bias.slice(perHead ? (long) (g * group + h) * plane : 0, sq, sk);
            b.add(s, bh, s);
          }
        }
        Tensor rows = scores.view((long) group * sq, sk);
        b.softmax(rows, rows);
        b.batchedGemm(
            group,
            false,
            false,
            sq,
            headDim,
            sk,
            1f,
            scores,
            0,
            sk,
            plane,
            v,
            (long) g * headDim,
            kvRow,
            0,
            0f,
            out,
            (long) g * group * headDim,
            qRow,
            headDim);
      }
    }
  }
}
