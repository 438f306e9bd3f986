package dev.reelflow.upscale;

import org.bytedeco.javacpp.FloatPointer;

/**
 * Row-major single-precision GEMM on native memory: {@code C = A·B + beta·C}, with A [m×k] at
 * {@code a+aOff} (leading dimension lda), B [k×n] and C [m×n]. The seam between the network and a
 * tensor backend; offsets are in floats.
 */
interface Gemm {
  void sgemm(
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
      int ldc);

  /** Human-readable name for logs and benchmark output. */
  String describe();
}
