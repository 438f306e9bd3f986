package dev.reelflow.engine.backend;

import static dev.reelflow.engine.backend.CpuBackend.requireF32;
import static dev.reelflow.engine.backend.CpuGemm.at;
import static dev.reelflow.engine.backend.CpuGemm.sgemm;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The CPU backend's attention: dense and block-sparse, flash-style over query tiles with sgemm and
 * an online softmax. Moved out of {@link CpuBackend}, which delegates to it.
 */
final class CpuAttention {
  // query/key tile of the dense kernel; tunable for experiments, defaults measured on 2 cores
  private static final int DENSE_Q_BLOCK = Integer.getInteger("reelflow.engine.cpu.qblock", 256);
  private static final int DENSE_K_BLOCK = Integer.getInteger("reelflow.engine.cpu.kblock", 512);

  private final Parallel parallel;
  private final ThreadLocal<CpuScratch> scratch;

  CpuAttention(Parallel parallel, ThreadLocal<CpuScratch> scratch) {
    this.parallel = parallel;
    this.scratch = scratch;
  }

  void attention(Tensor q, Tensor k, Tensor v, Tensor out, int heads, int headDim, float scale) {
    int ld = heads * headDim;
    checkAttention(q, k, v, out, ld);
    int sq = (int) (q.size() / ld);
    int sk = (int) (k.size() / ld);
    int qBlocks = (sq + DENSE_Q_BLOCK - 1) / DENSE_Q_BLOCK;
    int kBlocks = (sk + DENSE_K_BLOCK - 1) / DENSE_K_BLOCK;
    int[] keys = new int[kBlocks];
    for (int i = 0; i < kBlocks; i++) {
      keys[i] = i;
    }
    parallel.forEach(
        heads * qBlocks,
        (w0, w1) -> {
          for (int w = w0; w < w1; w++) {
            int h = w / qBlocks;
            int qb = w % qBlocks;
            int q0 = qb * DENSE_Q_BLOCK;
            attendRows(
                q,
                k,
                v,
                out,
                h,
                headDim,
                ld,
                q0,
                Math.min(DENSE_Q_BLOCK, sq - q0),
                keys,
                DENSE_K_BLOCK,
                sk,
                scale);
          }
        });
  }

  void blockSparseAttention(
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor out,
      int heads,
      int headDim,
      int blockSize,
      BlockMask mask,
      float scale) {
    int ld = heads * headDim;
    checkAttention(q, k, v, out, ld);
    int sq = (int) (q.size() / ld);
    int sk = (int) (k.size() / ld);
    if (sq % blockSize != 0 || sk % blockSize != 0) {
      throw new IllegalArgumentException(
          "blockSparseAttention: " + sq + "/" + sk + " tokens are not multiples of " + blockSize);
    }
    int qBlocks = sq / blockSize;
    if (mask.heads() != heads || mask.qBlocks() != qBlocks || mask.kBlocks() != sk / blockSize) {
      throw new IllegalArgumentException("blockSparseAttention: mask shape does not match");
    }
    mask.freeze();
    parallel.forEach(
        heads * qBlocks,
        (w0, w1) -> {
          for (int w = w0; w < w1; w++) {
            int h = w / qBlocks;
            int qb = w % qBlocks;
            attendRows(
                q,
                k,
                v,
                out,
                h,
                headDim,
                ld,
                qb * blockSize,
                blockSize,
                mask.keptKeys(h, qb),
                blockSize,
                sk,
                scale);
          }
        });
  }

  private static void checkAttention(Tensor q, Tensor k, Tensor v, Tensor out, int ld) {
    requireF32(q, "attention q");
    requireF32(k, "attention k");
    requireF32(v, "attention v");
    requireF32(out, "attention out");
    if (q.size() % ld != 0
        || k.size() % ld != 0
        || v.size() != k.size()
        || out.size() != q.size()) {
      throw new IllegalArgumentException("attention: shapes " + q + " " + k + " " + v + " " + out);
    }
  }

  /**
   * Flash-style attention for {@code rows} query rows of one head against the listed key blocks: S
   * = scale Q K^T by sgemm, online softmax with running max and sum, O += P V by sgemm.
   */
  private void attendRows(
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor out,
      int h,
      int d,
      int ld,
      int q0,
      int rows,
      int[] keyBlocks,
      int kBlock,
      int sk,
      float scale) {
    CpuScratch sc = scratch.get();
    FloatPointer sPtr = sc.a((long) rows * kBlock);
    FloatPointer oPtr = sc.b((long) rows * d);
    FloatBuffer s = sPtr.capacity((long) rows * kBlock).asBuffer();
    FloatBuffer o = oPtr.capacity((long) rows * d).asBuffer();
    float[] m = sc.m(rows);
    float[] l = sc.l;
    Arrays.fill(m, 0, rows, Float.NEGATIVE_INFINITY);
    Arrays.fill(l, 0, rows, 0f);
    for (int i = 0, n = rows * d; i < n; i++) {
      o.put(i, 0f);
    }
    FloatPointer qp = at(q, (long) q0 * ld + (long) h * d);
    for (int kb : keyBlocks) {
      int k0 = kb * kBlock;
      int cols = Math.min(kBlock, sk - k0);
      if (cols <= 0) {
        continue;
      }
      sgemm(
          false,
          true,
          rows,
          cols,
          d,
          scale,
          qp,
          ld,
          at(k, (long) k0 * ld + (long) h * d),
          ld,
          0f,
          sPtr.position(0),
          cols);
      float[] row = sc.row(cols);
      for (int r = 0; r < rows; r++) {
        int off = r * cols;
        // heap copy of the score row: plain array loops vectorise, buffer indexing does not
        s.get(off, row, 0, cols);
        float mx = m[r];
        for (int c = 0; c < cols; c++) {
          mx = Math.max(mx, row[c]);
        }
        float corr = FastMath.exp(m[r] - mx);
        float sum = 0f;
        for (int c = 0; c < cols; c++) {
          float p = FastMath.exp(row[c] - mx);
          row[c] = p;
          sum += p;
        }
        s.put(off, row, 0, cols);
        l[r] = l[r] * corr + sum;
        m[r] = mx;
        if (corr != 1f) {
          int oo = r * d;
          for (int j = 0; j < d; j++) {
            o.put(oo + j, o.get(oo + j) * corr);
          }
        }
      }
      sgemm(
          false,
          false,
          rows,
          d,
          cols,
          1f,
          sPtr.position(0),
          cols,
          at(v, (long) k0 * ld + (long) h * d),
          ld,
          1f,
          oPtr.position(0),
          d);
    }
    FloatBuffer ob = out.floats();
    for (int r = 0; r < rows; r++) {
      float inv = l[r] > 0f ? 1f / l[r] : 0f;
      int dst = (q0 + r) * ld + h * d;
      int src = r * d;
      for (int j = 0; j < d; j++) {
        ob.put(dst + j, o.get(src + j) * inv);
      }
    }
  }
}
