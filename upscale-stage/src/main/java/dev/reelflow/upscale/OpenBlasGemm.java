package dev.reelflow.upscale;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * {@link Gemm} on OpenBLAS through the JavaCPP preset. OpenBLAS runs single-threaded here: the
 * upscaler parallelises over tiles instead, which also spreads the element-wise work.
 */
final class OpenBlasGemm implements Gemm {
  private static final Object INIT = new Object();
  private static volatile boolean initialised;

  OpenBlasGemm() {
    if (!initialised) {
      synchronized (INIT) {
        if (!initialised) {
          org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
          initialised = true;
        }
      }
    }
  }

  @Override
  public void sgemm(
      int m,
      int n,
      int k,
      FloatPointer a,
      long aOff,
      int lda,
      FloatPointer b,
      long bOff,
      int ldb,
      float beta,
      FloatPointer c,
      long cOff,
      int ldc) {
    // Views at an offset; never closed: closing a view would free the memory it points into.
    FloatPointer pa = new FloatPointer(a).position(a.position() + aOff);
    FloatPointer pb = new FloatPointer(b).position(b.position() + bOff);
    FloatPointer pc = new FloatPointer(c).position(c.position() + cOff);
    openblas_nolapack.cblas_sgemm(
        openblas_nolapack.CblasRowMajor,
        openblas_nolapack.CblasNoTrans,
        openblas_nolapack.CblasNoTrans,
        m,
        n,
        k,
        1f,
        pa,
        lda,
        pb,
        ldb,
        beta,
        pc,
        ldc);
  }

  @Override
  public String describe() {
    return "OpenBLAS (JavaCPP preset), 1 thread per tile worker";
  }
}
