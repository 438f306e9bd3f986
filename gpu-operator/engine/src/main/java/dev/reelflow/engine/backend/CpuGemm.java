package dev.reelflow.engine.backend;

import static dev.reelflow.engine.backend.CpuBackend.requireF32;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * The CPU backend's matrix products: OpenBLAS {@code sgemm} split across the worker pool, batched
 * GEMM and {@code linear} (widening half-precision weights block by block). Moved out of {@link
 * CpuBackend}, which delegates to it.
 */
final class CpuGemm {
  private final Parallel parallel;
  private final ThreadLocal<CpuScratch> scratch;
  private final CpuElementwise elementwise;

  CpuGemm(Parallel parallel, ThreadLocal<CpuScratch> scratch, CpuElementwise elementwise) {
    this.parallel = parallel;
    this.scratch = scratch;
    this.elementwise = elementwise;
  }

  static FloatPointer at(Tensor t, long off) {
    return new FloatPointer(t.pointer()).position(off);
  }

  /** One single-threaded sgemm call. */
  static void sgemm(
      boolean ta,
      boolean tb,
      int m,
      int n,
      int k,
      float alpha,
      FloatPointer a,
      int lda,
      FloatPointer b,
      int ldb,
      float beta,
      FloatPointer c,
      int ldc) {
    if (m == 0 || n == 0) {
      return;
    }
    cblas_sgemm(
        CblasRowMajor,
        ta ? CblasTrans : CblasNoTrans,
        tb ? CblasTrans : CblasNoTrans,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc);
  }

  void gemm(
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      float alpha,
      Tensor a,
      long aOff,
      int lda,
      Tensor b,
      long bOff,
      int ldb,
      float beta,
      Tensor c,
      long cOff,
      int ldc) {
    requireF32(a, "gemm A");
    requireF32(b, "gemm B");
    requireF32(c, "gemm C");
    parallelGemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
  }

  /** Splits the larger output dimension across the pool; each slice is one sgemm call. */
  void parallelGemm(
      boolean ta,
      boolean tb,
      int m,
      int n,
      int k,
      float alpha,
      Tensor a,
      long aOff,
      int lda,
      Tensor b,
      long bOff,
      int ldb,
      float beta,
      Tensor c,
      long cOff,
      int ldc) {
    long work = (long) m * n * k;
    int threads = parallel.threads();
    if (threads == 1 || work < (1L << 18)) {
      sgemm(ta, tb, m, n, k, alpha, at(a, aOff), lda, at(b, bOff), ldb, beta, at(c, cOff), ldc);
      return;
    }
    if (m >= n || n < 64) {
      int parts = Math.min(threads, Math.max(1, m / 16));
      parallel.forEach(
          parts,
          (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
              int r0 = (int) ((long) m * p / parts);
              int r1 = (int) ((long) m * (p + 1) / parts);
              long aStart = ta ? aOff + r0 : aOff + (long) r0 * lda;
              sgemm(
                  ta,
                  tb,
                  r1 - r0,
                  n,
                  k,
                  alpha,
                  at(a, aStart),
                  lda,
                  at(b, bOff),
                  ldb,
                  beta,
                  at(c, cOff + (long) r0 * ldc),
                  ldc);
            }
          });
    } else {
      int parts = Math.min(threads, Math.max(1, n / 64));
      parallel.forEach(
          parts,
          (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
              int c0 = (int) ((long) n * p / parts);
              int c1 = (int) ((long) n * (p + 1) / parts);
              long bStart = tb ? bOff + (long) c0 * ldb : bOff + c0;
              sgemm(
                  ta,
                  tb,
                  m,
                  c1 - c0,
                  k,
                  alpha,
                  at(a, aOff),
                  lda,
                  at(b, bStart),
                  ldb,
                  beta,
                  at(c, cOff + c0),
                  ldc);
            }
          });
    }
  }

  void batchedGemm(
      int batch,
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      float alpha,
      Tensor a,
      long aOff,
      int lda,
      long strideA,
      Tensor b,
      long bOff,
      int ldb,
      long strideB,
      float beta,
      Tensor c,
      long cOff,
      int ldc,
      long strideC) {
    requireF32(a, "batchedGemm A");
    requireF32(b, "batchedGemm B");
    requireF32(c, "batchedGemm C");
    if (batch >= parallel.threads()) {
      parallel.forEach(
          batch,
          (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
              sgemm(
                  transA,
                  transB,
                  m,
                  n,
                  k,
                  alpha,
                  at(a, aOff + i * strideA),
                  lda,
                  at(b, bOff + i * strideB),
                  ldb,
                  beta,
                  at(c, cOff + i * strideC),
                  ldc);
            }
          });
    } else {
      for (int i = 0; i < batch; i++) {
        parallelGemm(
            transA,
            transB,
            m,
            n,
            k,
            alpha,
            a,
            aOff + i * strideA,
            lda,
            b,
            bOff + i * strideB,
            ldb,
            beta,
            c,
            cOff + i * strideC,
            ldc);
      }
    }
  }

  void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
    requireF32(x, "linear x");
    requireF32(out, "linear out");
    int in = x.cols();
    if (weight.rank() != 2 || weight.dim(1) != in) {
      throw new IllegalArgumentException("linear: weight " + weight + " does not take " + in);
    }
    int outF = (int) weight.dim(0);
    int rows = (int) x.rows();
    if (out.cols() != outF || out.rows() != rows) {
      throw new IllegalArgumentException("linear: out " + out + " is not " + rows + "x" + outF);
    }
    if (weight.dtype() == DType.F32) {
      parallelGemm(false, true, rows, outF, in, 1f, x, 0, in, weight, 0, in, 0f, out, 0, outF);
    } else {
      // half weights: widen blocks of output features into thread scratch, then sgemm
      ShortBuffer w = weight.shorts();
      boolean bf16 = weight.dtype() == DType.BF16;
      int block = 64;
      int blocks = (outF + block - 1) / block;
      FloatPointer xp = at(x, 0);
      parallel.forEach(
          blocks,
          (b0, b1) -> {
            for (int bi = b0; bi < b1; bi++) {
              int j0 = bi * block;
              int j1 = Math.min(outF, j0 + block);
              int len = (j1 - j0) * in;
              FloatPointer wf = scratch.get().a(len);
              FloatBuffer wb = wf.capacity(len).asBuffer();
              int base = j0 * in;
              for (int i = 0; i < len; i++) {
                short s = w.get(base + i);
                wb.put(i, bf16 ? DType.bf16ToFloat(s) : DType.f16ToFloat(s));
              }
              sgemm(
                  false,
                  true,
                  rows,
                  j1 - j0,
                  in,
                  1f,
                  xp,
                  in,
                  wf.position(0),
                  in,
                  0f,
                  at(out, j0),
                  outF);
            }
          });
    }
    if (bias != null) {
      elementwise.addRow(out, bias, out);
    }
  }
}
