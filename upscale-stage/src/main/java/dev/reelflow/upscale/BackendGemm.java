package dev.reelflow.upscale;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.Tensor;
import org.bytedeco.javacpp.FloatPointer;

/**
 * {@link Gemm} on the native engine's tensor {@link Backend} (the CPU backend: OpenBLAS sgemm). The
 * workspace's host buffers are wrapped as F32 tensors for the call only; the wrappers are never
 * closed because the buffers belong to the workspace.
 */
final class BackendGemm implements Gemm {
  private final Backend backend;

  BackendGemm(Backend backend) {
    this.backend = backend;
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
    backend.gemm(
        false,
        false,
        m,
        n,
        k,
        1f,
        wrap(a),
        a.position() + aOff,
        lda,
        wrap(b),
        b.position() + bOff,
        ldb,
        beta,
        wrap(c),
        c.position() + cOff,
        ldc);
  }

  private Tensor wrap(FloatPointer p) {
    // a view, so that Tensor's capacity bookkeeping never touches the owner's pointer object
    FloatPointer view = new FloatPointer(p).position(0);
    return Tensor.wrap(backend, DType.F32, new long[] {p.capacity()}, view);
  }

  @Override
  public String describe() {
    return "engine backend " + backend.name() + ": " + backend.device();
  }
}
