package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CPU backend: GEMM through OpenBLAS {@code sgemm} (single-threaded calls, split across our own
 * worker pool so the thread count is one setting), all other kernels in Java over direct buffers,
 * multi-threaded over contiguous chunks. Tensors live off-heap.
 *
 * <p>This class owns the pool, the per-thread scratch and tensor memory; the kernels live in one
 * package-private class per family, which it delegates to: {@link CpuLayout}, {@link CpuGemm},
 * {@link CpuElementwise} (with reductions and softmax), {@link CpuNorms} (with RoPE), {@link
 * CpuConvolution}, {@link CpuAttention}.
 */
@EngineApi
public final class CpuBackend implements Backend {
  private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);
  static final int ELEMENTWISE_GRAIN = 1 << 14;

  private final Parallel parallel;
  private final ThreadLocal<CpuScratch> scratch = ThreadLocal.withInitial(CpuScratch::new);
  private final CpuLayout layout;
  private final CpuGemm gemm;
  private final CpuElementwise elementwise;
  private final CpuNorms norms;
  private final CpuConvolution convolution;
  private final CpuAttention attention;

  /** A backend using all available processors. */
  public CpuBackend() {
    this(Runtime.getRuntime().availableProcessors());
  }

  /** A backend using {@code threads} worker threads. */
  public CpuBackend(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    Loader.load(openblas_nolapack.class);
    // our pool owns the parallelism; every sgemm call is single-threaded
    org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(1);
    this.parallel = new Parallel(threads);
    this.layout = new CpuLayout(parallel);
    this.elementwise = new CpuElementwise(parallel);
    this.gemm = new CpuGemm(parallel, scratch, elementwise);
    this.norms = new CpuNorms(parallel, this);
    this.convolution = new CpuConvolution(parallel, scratch, gemm, this);
    this.attention = new CpuAttention(parallel, scratch);
    LOG.info("CPU backend: {} threads, OpenBLAS sgemm", threads);
  }

  public int threads() {
    return parallel.threads();
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public String device() {
    return "cpu (" + parallel.threads() + " threads, OpenBLAS)";
  }

  // ---------------------------------------------------------------- memory

  @Override
  public Tensor allocate(DType dtype, long... shape) {
    long n = Tensor.sizeOf(shape);
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "tensor " + Arrays.toString(shape) + " exceeds 2^31 elements; tile the computation");
    }
    if (dtype == DType.F32) {
      FloatPointer p = new FloatPointer(Math.max(1, n));
      p.zero();
      return Tensor.wrap(this, dtype, shape, p);
    }
    ShortPointer p = new ShortPointer(Math.max(1, n));
    p.zero();
    return Tensor.wrap(this, dtype, shape, p);
  }

  @Override
  public Tensor fromArray(float[] data, long... shape) {
    if (Tensor.sizeOf(shape) != data.length) {
      throw new IllegalArgumentException(
          data.length + " values do not fill shape " + Arrays.toString(shape));
    }
    Tensor t = allocate(shape);
    t.floats().put(0, data);
    return t;
  }

  @Override
  public Tensor fromBits(DType dtype, short[] bits, long... shape) {
    if (dtype == DType.F32) {
      throw new IllegalArgumentException("fromBits takes BF16 or F16");
    }
    if (Tensor.sizeOf(shape) != bits.length) {
      throw new IllegalArgumentException(
          bits.length + " values do not fill shape " + Arrays.toString(shape));
    }
    Tensor t = allocate(dtype, shape);
    t.shorts().put(0, bits);
    return t;
  }

  @Override
  public Tensor fromHost(org.bytedeco.javacpp.Pointer data, DType dtype, long... shape) {
    if (data == null || data.isNull()) {
      throw new IllegalArgumentException("fromHost: null host pointer");
    }
    Tensor t = allocate(dtype, shape);
    org.bytedeco.javacpp.Pointer.memcpy(t.pointer(), data, t.size() * dtype.bytes());
    return t;
  }

  @Override
  public Tensor convert(Tensor x, DType dtype) {
    Tensor t = allocate(dtype, x.shape());
    int n = (int) x.size();
    if (x.dtype() == dtype) {
      org.bytedeco.javacpp.Pointer.memcpy(t.pointer(), x.pointer(), (long) n * dtype.bytes());
      return t;
    }
    for (int i = 0; i < n; i++) {
      float v =
          switch (x.dtype()) {
            case F32 -> x.floats().get(i);
            case BF16 -> DType.bf16ToFloat(x.shorts().get(i));
            case F16 -> DType.f16ToFloat(x.shorts().get(i));
          };
      switch (dtype) {
        case F32 -> t.floats().put(i, v);
        case BF16 -> t.shorts().put(i, DType.floatToBf16(v));
        case F16 -> t.shorts().put(i, DType.floatToF16(v));
      }
    }
    return t;
  }

  @Override
  public float[] toArray(Tensor t) {
    requireF32(t, "toArray");
    float[] out = new float[Math.toIntExact(t.size())];
    t.floats().get(0, out);
    return out;
  }

  @Override
  public void copy(Tensor src, long srcOff, Tensor dst, long dstOff, long n) {
    requireF32(src, "copy");
    requireF32(dst, "copy");
    if (srcOff + n > src.size() || dstOff + n > dst.size()) {
      throw new IndexOutOfBoundsException("copy of " + n + " elements out of bounds");
    }
    FloatBuffer s = src.floats();
    FloatBuffer d = dst.floats();
    d.put((int) dstOff, s, (int) srcOff, (int) n);
  }

  @Override
  public void write(Tensor dst, long dstOff, float[] data, int from, int n) {
    requireF32(dst, "write");
    dst.floats().put((int) dstOff, data, from, n);
  }

  // ---------------------------------------- layout (CpuLayout)

  @Override
  public void fill(Tensor t, float value) {
    layout.fill(t, value);
  }

  @Override
  public void gatherRows(Tensor src, int[] index, Tensor dst) {
    layout.gatherRows(src, index, dst);
  }

  @Override
  public void permute(Tensor x, int[] viewShape, int[] perm, Tensor out) {
    layout.permute(x, viewShape, perm, out);
  }

  @Override
  public void padReplicate3d(Tensor x, int padT0, int padT1, int padH, int padW, Tensor out) {
    layout.padReplicate3d(x, padT0, padT1, padH, padW, out);
  }

  @Override
  public void groupMeanRows(Tensor x, int group, Tensor out) {
    layout.groupMeanRows(x, group, out);
  }

  // ---------------------------------------- GEMM (CpuGemm)

  @Override
  public void gemm(
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
    gemm.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
  }

  @Override
  public void batchedGemm(
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
    gemm.batchedGemm(
        batch, transA, transB, m, n, k, alpha, a, aOff, lda, strideA, b, bOff, ldb, strideB, beta,
        c, cOff, ldc, strideC);
  }

  @Override
  public void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
    gemm.linear(x, weight, bias, out);
  }

  // ---------------------------------------- elementwise, reductions, softmax (CpuElementwise)

  @Override
  public void add(Tensor a, Tensor b, Tensor out) {
    elementwise.add(a, b, out);
  }

  @Override
  public void mul(Tensor a, Tensor b, Tensor out) {
    elementwise.mul(a, b, out);
  }

  @Override
  public void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
    elementwise.axpby(alpha, a, beta, b, out);
  }

  @Override
  public void scale(Tensor x, float s, Tensor out) {
    elementwise.scale(x, s, out);
  }

  @Override
  public void relu(Tensor x, Tensor out) {
    elementwise.relu(x, out);
  }

  @Override
  public void silu(Tensor x, Tensor out) {
    elementwise.silu(x, out);
  }

  @Override
  public void gelu(Tensor x, Tensor out) {
    elementwise.gelu(x, out);
  }

  @Override
  public void geluTanh(Tensor x, Tensor out) {
    elementwise.geluTanh(x, out);
  }

  @Override
  public void addRow(Tensor x, Tensor row, Tensor out) {
    elementwise.addRow(x, row, out);
  }

  @Override
  public void modulate(
      Tensor x, Tensor shift, long shiftOff, Tensor scale, long scaleOff, Tensor out) {
    elementwise.modulate(x, shift, shiftOff, scale, scaleOff, out);
  }

  @Override
  public void addGated(Tensor x, Tensor gate, long gateOff, Tensor y) {
    elementwise.addGated(x, gate, gateOff, y);
  }

  @Override
  public void sumRows(Tensor x, Tensor out) {
    elementwise.sumRows(x, out);
  }

  @Override
  public double sum(Tensor x) {
    return elementwise.sum(x);
  }

  @Override
  public float maxAbs(Tensor x) {
    return elementwise.maxAbs(x);
  }

  @Override
  public void softmax(Tensor x, Tensor out) {
    elementwise.softmax(x, out);
  }

  // ---------------------------------------- normalisation, RoPE (CpuNorms)

  @Override
  public void layerNorm(
      Tensor x, Tensor weight, Tensor bias, float eps, int groupSize, Tensor out) {
    norms.layerNorm(x, weight, bias, eps, groupSize, out);
  }

  @Override
  public void rmsNorm(Tensor x, Tensor weight, float eps, int groupSize, Tensor out) {
    norms.rmsNorm(x, weight, eps, groupSize, out);
  }

  @Override
  public void rope(
      Tensor x, int heads, int headDim, Tensor cos, Tensor sin, int tokens, Tensor out) {
    norms.rope(x, heads, headDim, cos, sin, tokens, out);
  }

  @Override
  public void channelRmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
    norms.channelRmsNorm(x, gamma, eps, out);
  }

  // ---------------------------------------- convolution (CpuConvolution)

  @Override
  public void conv3d(
      Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, Tensor out) {
    convolution.conv3d(x, weight, bias, stride, padding, out);
  }

  @Override
  public void conv2d(
      Tensor x,
      Tensor weight,
      Tensor bias,
      int strideH,
      int strideW,
      int padH,
      int padW,
      Tensor out) {
    convolution.conv2d(x, weight, bias, strideH, strideW, padH, padW, out);
  }

  // ---------------------------------------- attention (CpuAttention)

  @Override
  public void attention(
      Tensor q, Tensor k, Tensor v, Tensor out, int heads, int headDim, float scale) {
    attention.attention(q, k, v, out, heads, headDim, scale);
  }

  @Override
  public void blockSparseAttention(
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor out,
      int heads,
      int headDim,
      int blockSize,
      BlockMask mask,
      float scale) {
    attention.blockSparseAttention(q, k, v, out, heads, headDim, blockSize, mask, scale);
  }

  static void requireF32(Tensor t, String op) {
    if (t.dtype() != DType.F32) {
      throw new IllegalArgumentException(op + " needs a float32 tensor, got " + t);
    }
  }

  @Override
  public void close() {
    parallel.close();
  }
}
