package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's {@link Backend} on libtorch (JavaCPP PyTorch preset), for a CPU or a CUDA device.
 * The same Java code runs on both: only the device and the compute dtype differ, so CI exercises
 * the GPU path on libtorch's CPU build.
 *
 * <p><b>Storage.</b> Every tensor is a flat libtorch tensor on the device; our views and slices
 * become {@code as_strided} views at their element offset, and leading dimensions of {@link #gemm}
 * become strides, so no operation copies to honour an offset. Operations write through {@code
 * *_out} kernels or in-place methods where the contract allows aliasing.
 *
 * <p><b>Precision policy.</b>
 *
 * <ul>
 *   <li>{@link Precision#F32} (the default on CPU): everything in float32; 16-bit weights are
 *       widened to float32 when used.
 *   <li>{@link Precision#MIXED16} (the default on CUDA): weights stay in their stored 16-bit type
 *       (bf16 or fp16); {@link #linear} multiplies in that type with float32 accumulation (cuBLAS)
 *       and a float32 result; dense and block-sparse attention run {@code
 *       scaled_dot_product_attention} on bf16 copies of q, k, v (flash kernels, float32 softmax
 *       statistics inside the kernel). Activations between operations, norms, softmax, RoPE,
 *       modulation and residuals stay float32.
 * </ul>
 *
 * <p><b>Memory.</b> Native tensors are released deterministically: every operation runs inside a
 * {@link PointerScope} that frees its temporaries, and {@link Tensor#close()} frees the storage.
 * Allocation failures surface as {@link DeviceOutOfMemoryException}. Run with {@code
 * -Dorg.bytedeco.javacpp.maxPhysicalBytes=0} (see {@link TorchRuntime}).
 *
 * <p>Create one through {@link Backends#open} or {@link #builder()}.
 */
@EngineApi
public final class TorchBackend implements Backend {
  private static final Logger LOG = LoggerFactory.getLogger(TorchBackend.class);

  /** How a backend trades precision for speed; see the class comment. */
  public enum Precision {
    /** Everything float32 (the CPU default). */
    F32,
    /** 16-bit weights and attention operands, float32 accumulation and activations (CUDA). */
    MIXED16
  }

  private final String spec;
  private final int cudaIndex;
  private final Device device;
  private final Precision precision;
  private final int threads;
  private final long sparseChunkBytes;
  private volatile boolean mmOutDtype = true;

  private TorchBackend(Builder b) {
    TorchRuntime.load();
    this.cudaIndex = b.cudaIndex;
    this.spec = b.cudaIndex < 0 ? "cpu" : "cuda:" + b.cudaIndex;
    if (cudaIndex >= 0) {
      TorchRuntime.requireCuda(cudaIndex);
    }
    this.precision =
        b.precision != null ? b.precision : cudaIndex >= 0 ? Precision.MIXED16 : Precision.F32;
    this.threads = b.threads;
    this.sparseChunkBytes =
        b.sparseChunkBytes > 0 ? b.sparseChunkBytes : cudaIndex >= 0 ? 512L << 20 : 32L << 20;
    if (threads > 0) {
      // libtorch's intra-op pool is process-wide: the last backend opened sets it
      torch.set_num_threads(threads);
    }
    this.device = cudaIndex < 0 ? new Device("cpu") : new Device("cuda:" + cudaIndex);
    this.device.retainReference();
    LOG.info("torch backend: {} ({}), precision {}", spec, TorchRuntime.version(), precision);
  }

  /** A builder; defaults: CPU, libtorch's own thread count, the device's precision. */
  public static Builder builder() {
    return new Builder();
  }

  /** Options of a {@link TorchBackend}. */
  public static final class Builder {
    private int cudaIndex = -1;
    private int threads = 0;
    private Precision precision;
    private long sparseChunkBytes;

    private Builder() {}

    /** Runs on the CPU (the default). */
    public Builder cpu() {
      this.cudaIndex = -1;
      return this;
    }

    /** Runs on CUDA device {@code index}. */
    public Builder cuda(int index) {
      if (index < 0) {
        throw new IllegalArgumentException("CUDA device index must be >= 0, got " + index);
      }
      this.cudaIndex = index;
      return this;
    }

    /** libtorch CPU threads (process-wide); 0 keeps libtorch's choice. */
    public Builder threads(int threads) {
      if (threads < 0) {
        throw new IllegalArgumentException("threads must be >= 0, got " + threads);
      }
      this.threads = threads;
      return this;
    }

    /** Overrides the device's default precision (e.g. MIXED16 on CPU to test the GPU path). */
    public Builder precision(Precision precision) {
      this.precision = precision;
      return this;
    }

    /** Bytes of gathered keys and values per block-sparse attention batch (memory bound). */
    public Builder sparseChunkBytes(long bytes) {
      if (bytes < (1 << 16)) {
        throw new IllegalArgumentException("sparseChunkBytes must be >= 64 KiB, got " + bytes);
      }
      this.sparseChunkBytes = bytes;
      return this;
    }

    public TorchBackend build() {
      return new TorchBackend(this);
    }
  }

  @Override
  public String name() {
    return "torch";
  }

  @Override
  public String device() {
    return "torch "
        + spec
        + " (libtorch "
        + TorchRuntime.version()
        + ", "
        + precision
        + (cudaIndex < 0 ? ", " + torch.get_num_threads() + " threads" : "")
        + ")";
  }

  /** {@code cpu} or {@code cuda:N}. */
  public String deviceSpec() {
    return spec;
  }

  public boolean isCuda() {
    return cudaIndex >= 0;
  }

  public Precision precision() {
    return precision;
  }

  /** Waits until queued device work is done (a no-op on the CPU); for timing. */
  public void synchronize() {
    if (cudaIndex >= 0) {
      exec("synchronize", () -> torch.cuda_synchronize(cudaIndex));
    }
  }

  /**
   * Returns the CUDA caching allocator's unused cached blocks to the driver (a no-op on the CPU). A
   * worker calls it after a {@link DeviceOutOfMemoryException} failed a task, so the next task and
   * other processes see the memory as free again.
   */
  public void releaseCachedMemory() {
    if (cudaIndex >= 0) {
      exec("releaseCachedMemory", torch::emptyCache);
    }
  }

  // ------------------------------------------------------------------ plumbing

  private void exec(String op, Runnable body) {
    try (PointerScope scope = new PointerScope()) {
      body.run();
    } catch (RuntimeException e) {
      throw translate(op, e);
    }
  }

  private <T> T call(String op, Supplier<T> body) {
    try (PointerScope scope = new PointerScope()) {
      return body.get();
    } catch (RuntimeException e) {
      throw translate(op, e);
    }
  }

  /** libtorch errors arrive as plain RuntimeExceptions (c10::Error); ours are typed already. */
  private RuntimeException translate(String op, RuntimeException e) {
    if (e.getClass() != RuntimeException.class) {
      return e;
    }
    String msg = String.valueOf(e.getMessage());
    if (DeviceOutOfMemoryException.isOutOfMemory(msg)) {
      return DeviceOutOfMemoryException.fromTorch(spec, msg, e);
    }
    String first = msg.lines().findFirst().orElse(msg);
    return new IllegalStateException(op + " failed on torch " + spec + ": " + first, e);
  }

  static ScalarType scalarType(DType d) {
    return switch (d) {
      case F32 -> ScalarType.Float;
      case BF16 -> ScalarType.BFloat16;
      case F16 -> ScalarType.Half;
    };
  }

  private TensorOptions options(ScalarType t) {
    return new TensorOptions(t).device(new DeviceOptional(device));
  }

  private TorchStorage storage(Tensor t) {
    if (t.backend() != this || !(t.handle() instanceof TorchStorage s)) {
      throw new IllegalArgumentException(
          "tensor " + t + " belongs to backend " + t.backend().name() + ", not torch " + spec);
    }
    return s;
  }

  private static long[] contiguousStrides(long[] shape) {
    long[] s = new long[shape.length];
    long acc = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      s[i] = acc;
      acc *= Math.max(1, shape[i]);
    }
    return s;
  }

  /** A strided libtorch view into t's storage starting at element {@code off} of t. */
  private org.bytedeco.pytorch.Tensor strided(Tensor t, long off, long[] sizes, long[] strides) {
    long extent = 0;
    boolean empty = false;
    for (int i = 0; i < sizes.length; i++) {
      empty |= sizes[i] == 0;
      extent += (sizes[i] - 1) * strides[i];
    }
    if (off < 0 || (!empty && off + extent >= t.size())) {
      throw new IndexOutOfBoundsException(
          "view "
              + Arrays.toString(sizes)
              + " strides "
              + Arrays.toString(strides)
              + " at "
              + off
              + " exceeds "
              + t);
    }
    return storage(t).tensor().as_strided(sizes, strides, new LongOptional(t.offset() + off));
  }

  /** The tensor as a libtorch view with its own shape. */
  private org.bytedeco.pytorch.Tensor tv(Tensor t) {
    long[] shape = t.shape();
    return strided(t, 0, shape, contiguousStrides(shape));
  }

  /** The tensor viewed with another shape of the same size. */
  private org.bytedeco.pytorch.Tensor tv(Tensor t, long... shape) {
    if (Tensor.sizeOf(shape) != t.size()) {
      throw new IllegalArgumentException("cannot view " + t + " as " + Arrays.toString(shape));
    }
    return strided(t, 0, shape, contiguousStrides(shape));
  }

  private org.bytedeco.pytorch.Tensor flat(Tensor t, long off, long n) {
    return strided(t, off, new long[] {n}, new long[] {1});
  }

  /** A float32 view for compute: F32 tensors as they are, 16-bit ones widened (a copy). */
  private org.bytedeco.pytorch.Tensor f32(Tensor t) {
    var v = tv(t);
    return t.dtype() == DType.F32 ? v : v.to(ScalarType.Float);
  }

  private static void requireF32(Tensor t, String op) {
    if (t.dtype() != DType.F32) {
      throw new IllegalArgumentException(op + " needs a float32 tensor, got " + t);
    }
  }

  private static Scalar scalar(double v) {
    return new Scalar(v);
  }

  /** A device tensor of longs. */
  private org.bytedeco.pytorch.Tensor longs(long[] v) {
    LongPointer p = new LongPointer(v);
    var host =
        torch.from_blob(p, new long[] {v.length}, new TensorOptions(ScalarType.Long)).clone();
    return cudaIndex < 0 ? host : host.to(device, ScalarType.Long);
  }

  /** Wraps a fresh flat libtorch tensor as one of ours; takes a JavaCPP reference to it. */
  private Tensor adopt(DType dtype, long[] shape, org.bytedeco.pytorch.Tensor flat) {
    flat.retainReference();
    TorchStorage st = new TorchStorage(dtype, flat.numel(), flat);
    Pointer host = null;
    if (cudaIndex < 0) {
      Pointer p = flat.data_ptr();
      host = dtype == DType.F32 ? new FloatPointer(p) : new ShortPointer(p);
    }
    return Tensor.wrapNative(this, dtype, shape, host, st, st);
  }

  // ------------------------------------------------------------------ memory

  @Override
  public Tensor allocate(DType dtype, long... shape) {
    long n = Tensor.sizeOf(shape);
    return call(
        "allocate " + Arrays.toString(shape),
        () ->
            adopt(
                dtype,
                shape,
                torch.zeros(new long[] {Math.max(1, n)}, options(scalarType(dtype)))));
  }

  @Override
  public Tensor fromArray(float[] data, long... shape) {
    if (Tensor.sizeOf(shape) != data.length) {
      throw new IllegalArgumentException(
          data.length + " values do not fill shape " + Arrays.toString(shape));
    }
    return call(
        "fromArray",
        () -> {
          FloatPointer p = new FloatPointer(Math.max(1, data.length));
          p.put(data);
          var host =
              torch.from_blob(
                  p, new long[] {Math.max(1, data.length)}, new TensorOptions(ScalarType.Float));
          return adopt(
              DType.F32,
              shape,
              host.to(device, ScalarType.Float, false, true, new MemoryFormatOptional()));
        });
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
    return call(
        "fromBits",
        () -> {
          ShortPointer p = new ShortPointer(Math.max(1, bits.length));
          p.put(bits);
          var host =
              torch.from_blob(
                  p, new long[] {Math.max(1, bits.length)}, new TensorOptions(scalarType(dtype)));
          return adopt(
              dtype,
              shape,
              host.to(device, scalarType(dtype), false, true, new MemoryFormatOptional()));
        });
  }

  @Override
  public Tensor fromHost(Pointer data, DType dtype, long... shape) {
    long n = Tensor.sizeOf(shape);
    if (data == null || data.isNull()) {
      throw new IllegalArgumentException("fromHost: null host pointer");
    }
    return call(
        "fromHost",
        () -> {
          var host =
              torch.from_blob(
                  data, new long[] {Math.max(1, n)}, new TensorOptions(scalarType(dtype)));
          return adopt(
              dtype,
              shape,
              host.to(device, scalarType(dtype), false, true, new MemoryFormatOptional()));
        });
  }

  @Override
  public float[] toArray(Tensor t) {
    requireF32(t, "toArray");
    float[] out = new float[Math.toIntExact(t.size())];
    exec(
        "toArray",
        () -> {
          var host = flat(t, 0, t.size()).to(new Device("cpu"), ScalarType.Float).contiguous();
          new FloatPointer(host.data_ptr()).get(out);
        });
    return out;
  }

  @Override
  public void copy(Tensor src, long srcOff, Tensor dst, long dstOff, long n) {
    requireF32(src, "copy");
    requireF32(dst, "copy");
    if (srcOff + n > src.size() || dstOff + n > dst.size()) {
      throw new IndexOutOfBoundsException("copy of " + n + " elements out of bounds");
    }
    if (n == 0) {
      return;
    }
    exec("copy", () -> flat(dst, dstOff, n).copy_(flat(src, srcOff, n)));
  }

  @Override
  public void write(Tensor dst, long dstOff, float[] data, int from, int n) {
    requireF32(dst, "write");
    if (n == 0) {
      return;
    }
    exec(
        "write",
        () -> {
          FloatPointer p = new FloatPointer(n);
          p.put(data, from, n);
          var host = torch.from_blob(p, new long[] {n}, new TensorOptions(ScalarType.Float));
          flat(dst, dstOff, n).copy_(host);
        });
  }

  @Override
  public void fill(Tensor t, float value) {
    requireF32(t, "fill");
    exec("fill", () -> tv(t).fill_(scalar(value)));
  }

  @Override
  public void gatherRows(Tensor src, int[] index, Tensor dst) {
    int cols = src.cols();
    if (dst.cols() != cols || dst.rows() != index.length) {
      throw new IllegalArgumentException(
          "gatherRows: dst " + dst + " does not match " + index.length + " x " + cols);
    }
    long srcRows = src.rows();
    long[] idx = new long[index.length];
    List<Long> zero = new ArrayList<>();
    for (int r = 0; r < index.length; r++) {
      int i = index[r];
      if (i >= srcRows) {
        throw new IndexOutOfBoundsException("row " + i + " of " + srcRows);
      }
      if (i < 0) {
        zero.add((long) r);
      }
      idx[r] = Math.max(0, i);
    }
    if (index.length == 0) {
      return;
    }
    exec(
        "gatherRows",
        () -> {
          var d = tv(dst, index.length, cols);
          torch.index_select_out(d, tv(src, srcRows, cols), 0, longs(idx));
          if (!zero.isEmpty()) {
            d.index_fill_(0, longs(zero.stream().mapToLong(Long::longValue).toArray()), scalar(0));
          }
        });
  }

  @Override
  public void permute(Tensor x, int[] viewShape, int[] perm, Tensor out) {
    long n = 1;
    long[] vs = new long[viewShape.length];
    long[] p = new long[perm.length];
    for (int i = 0; i < viewShape.length; i++) {
      n *= viewShape[i];
      vs[i] = viewShape[i];
    }
    for (int i = 0; i < perm.length; i++) {
      p[i] = perm[i];
    }
    if (n != x.size() || out.size() != n || perm.length != viewShape.length) {
      throw new IllegalArgumentException(
          "permute: " + x + " as " + Arrays.toString(viewShape) + " by " + Arrays.toString(perm));
    }
    long[] os = new long[vs.length];
    for (int j = 0; j < os.length; j++) {
      os[j] = vs[perm[j]];
    }
    exec("permute", () -> tv(out, os).copy_(tv(x, vs).permute(p)));
  }

  @Override
  public void padReplicate3d(Tensor x, int padT0, int padT1, int padH, int padW, Tensor out) {
    long c = x.dim(0);
    long t = x.dim(1);
    long h = x.dim(2);
    long w = x.dim(3);
    if (out.dim(0) != c
        || out.dim(1) != t + padT0 + padT1
        || out.dim(2) != h + 2L * padH
        || out.dim(3) != w + 2L * padW) {
      throw new IllegalArgumentException("padReplicate3d: out " + out + " for " + x);
    }
    exec(
        "padReplicate3d",
        () ->
            torch.replication_pad3d_out(
                tv(out).unsqueeze(0), tv(x).unsqueeze(0), padW, padW, padH, padH, padT0, padT1));
  }

  @Override
  public void groupMeanRows(Tensor x, int group, Tensor out) {
    int cols = x.cols();
    long rows = out.rows();
    if (x.rows() != rows * group || out.cols() != cols) {
      throw new IllegalArgumentException("groupMeanRows: " + x + " by " + group + " -> " + out);
    }
    exec(
        "groupMeanRows",
        () ->
            torch.mean_out(
                tv(out, rows, cols),
                tv(x, rows, group, cols),
                new long[] {1},
                false,
                new ScalarTypeOptional()));
  }

  // ------------------------------------------------------------------ GEMM

  /** op(X) of a row-major operand with leading dimension ld, as a [rows, cols] strided view. */
  private org.bytedeco.pytorch.Tensor operand(
      Tensor t, long off, int rows, int cols, int ld, boolean trans) {
    return trans
        ? strided(t, off, new long[] {rows, cols}, new long[] {1, ld})
        : strided(t, off, new long[] {rows, cols}, new long[] {ld, 1});
  }

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
    requireF32(a, "gemm A");
    requireF32(b, "gemm B");
    requireF32(c, "gemm C");
    if (m == 0 || n == 0) {
      return;
    }
    exec(
        "gemm",
        () -> {
          var cv = operand(c, cOff, m, n, ldc, false);
          if (k == 0) {
            // BLAS: C = beta C, and with beta 0 C is not read
            if (beta == 0) {
              cv.zero_();
            } else {
              cv.mul_(scalar(beta));
            }
            return;
          }
          cv.addmm_(
              operand(a, aOff, m, k, lda, transA),
              operand(b, bOff, k, n, ldb, transB),
              scalar(beta),
              scalar(alpha));
        });
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
    requireF32(a, "batchedGemm A");
    requireF32(b, "batchedGemm B");
    requireF32(c, "batchedGemm C");
    if (batch == 0 || m == 0 || n == 0) {
      return;
    }
    exec(
        "batchedGemm",
        () -> {
          var av =
              strided(
                  a,
                  aOff,
                  new long[] {batch, m, k},
                  transA ? new long[] {strideA, 1, lda} : new long[] {strideA, lda, 1});
          var bv =
              strided(
                  b,
                  bOff,
                  new long[] {batch, k, n},
                  transB ? new long[] {strideB, 1, ldb} : new long[] {strideB, ldb, 1});
          var cv = strided(c, cOff, new long[] {batch, m, n}, new long[] {strideC, ldc, 1});
          cv.baddbmm_(av, bv, scalar(beta), scalar(alpha));
        });
  }

  @Override
  public void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
    requireF32(x, "linear x");
    requireF32(out, "linear out");
    int in = x.cols();
    if (weight.rank() != 2 || weight.dim(1) != in) {
      throw new IllegalArgumentException("linear: weight " + weight + " does not take " + in);
    }
    int outF = (int) weight.dim(0);
    long rows = x.rows();
    if (out.cols() != outF || out.rows() != rows) {
      throw new IllegalArgumentException("linear: out " + out + " is not " + rows + "x" + outF);
    }
    if (bias != null && bias.size() != outF) {
      throw new IllegalArgumentException("linear: bias " + bias + " for " + outF + " outputs");
    }
    exec(
        "linear",
        () -> {
          var xv = tv(x, rows, in);
          var ov = tv(out, rows, outF);
          var wv = tv(weight);
          if (weight.dtype() != DType.F32 && precision == Precision.MIXED16) {
            // stored 16-bit type, float32 accumulation; on CUDA straight into a float32 result
            var xh = xv.to(scalarType(weight.dtype()));
            ov.copy_(halfMatmul(xh, wv.t()));
            if (bias != null) {
              ov.add_(tv(bias));
            }
            return;
          }
          var wf = weight.dtype() == DType.F32 ? wv : wv.to(ScalarType.Float);
          if (bias != null) {
            torch.addmm_out(ov, tv(bias), xv, wf.t(), scalar(1), scalar(1));
          } else {
            torch.mm_out(ov, xv, wf.t());
          }
        });
  }

  /**
   * 16-bit matrix product: with float32 output where libtorch has it ({@code mm(a, b, out_dtype)}
   * is CUDA-only), otherwise in the operands' type.
   */
  private org.bytedeco.pytorch.Tensor halfMatmul(
      org.bytedeco.pytorch.Tensor a, org.bytedeco.pytorch.Tensor b) {
    if (cudaIndex >= 0 && mmOutDtype) {
      try {
        return torch.mm(a, b, ScalarType.Float);
      } catch (RuntimeException e) {
        if (DeviceOutOfMemoryException.isOutOfMemory(e.getMessage())) {
          throw e;
        }
        mmOutDtype = false;
        LOG.warn("mm with float32 output unavailable ({}); 16-bit output instead", e.getMessage());
      }
    }
    return torch.mm(a, b);
  }

  // ------------------------------------------------------------------ elementwise

  private static void sameSize(String op, Tensor... ts) {
    for (Tensor t : ts) {
      requireF32(t, op);
      if (t.size() != ts[0].size()) {
        throw new IllegalArgumentException(op + ": sizes differ: " + Arrays.toString(ts));
      }
    }
  }

  @Override
  public void add(Tensor a, Tensor b, Tensor out) {
    sameSize("add", a, b, out);
    exec("add", () -> torch.add_out(tv(out), tv(a), tv(b)));
  }

  @Override
  public void mul(Tensor a, Tensor b, Tensor out) {
    sameSize("mul", a, b, out);
    exec("mul", () -> torch.mul_out(tv(out), tv(a), tv(b)));
  }

  @Override
  public void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
    sameSize("axpby", a, b, out);
    exec(
        "axpby",
        () -> torch.add_out(tv(out), torch.mul(tv(a), scalar(alpha)), tv(b), scalar(beta)));
  }

  @Override
  public void scale(Tensor x, float s, Tensor out) {
    sameSize("scale", x, out);
    exec("scale", () -> torch.mul_out(tv(out), tv(x), scalar(s)));
  }

  @Override
  public void addRow(Tensor x, Tensor row, Tensor out) {
    int cols = x.cols();
    if (row.size() != cols || out.size() != x.size()) {
      throw new IllegalArgumentException("addRow: " + x + " + " + row + " -> " + out);
    }
    exec(
        "addRow",
        () ->
            torch.add_out(tv(out, out.size() / cols, cols), tv(x, x.rows(), cols), tv(row, cols)));
  }

  @Override
  public void relu(Tensor x, Tensor out) {
    sameSize("relu", x, out);
    exec("relu", () -> torch.clamp_min_out(tv(out), tv(x), scalar(0)));
  }

  @Override
  public void silu(Tensor x, Tensor out) {
    sameSize("silu", x, out);
    exec("silu", () -> torch.silu_out(tv(out), tv(x)));
  }

  @Override
  public void geluTanh(Tensor x, Tensor out) {
    sameSize("geluTanh", x, out);
    exec("geluTanh", () -> torch.gelu_out(tv(out), tv(x), "tanh"));
  }

  @Override
  public void gelu(Tensor x, Tensor out) {
    sameSize("gelu", x, out);
    exec("gelu", () -> torch.gelu_out(tv(out), tv(x), "none"));
  }

  @Override
  public void modulate(
      Tensor x, Tensor shift, long shiftOff, Tensor scale, long scaleOff, Tensor out) {
    int cols = x.cols();
    sameSize("modulate", x, out);
    exec(
        "modulate",
        () -> {
          var sc = flat(scale, scaleOff, cols).add(scalar(1));
          var o = tv(out, x.rows(), cols);
          torch.mul_out(o, tv(x, x.rows(), cols), sc);
          o.add_(flat(shift, shiftOff, cols));
        });
  }

  @Override
  public void addGated(Tensor x, Tensor gate, long gateOff, Tensor y) {
    int cols = x.cols();
    sameSize("addGated", x, y);
    exec(
        "addGated",
        () -> tv(x, x.rows(), cols).addcmul_(tv(y, x.rows(), cols), flat(gate, gateOff, cols)));
  }

  // ------------------------------------------------------------------ reductions

  @Override
  public void sumRows(Tensor x, Tensor out) {
    int cols = x.cols();
    if (out.size() != x.rows()) {
      throw new IllegalArgumentException("sumRows: " + x + " -> " + out);
    }
    exec(
        "sumRows",
        () ->
            torch.sum_out(
                tv(out, x.rows()),
                tv(x, x.rows(), cols),
                new long[] {1},
                false,
                new ScalarTypeOptional()));
  }

  @Override
  public double sum(Tensor x) {
    requireF32(x, "sum");
    return call(
        "sum", () -> tv(x).sum(new ScalarTypeOptional(ScalarType.Double)).item().toDouble());
  }

  @Override
  public float maxAbs(Tensor x) {
    requireF32(x, "maxAbs");
    if (x.size() == 0) {
      return 0f;
    }
    return call("maxAbs", () -> tv(x).abs().max().item().toFloat());
  }

  // ------------------------------------------------------------------ normalisation

  private static void checkGroups(Tensor x, Tensor out, int groupSize, String op) {
    requireF32(x, op);
    requireF32(out, op);
    if (groupSize <= 0 || x.size() % groupSize != 0 || out.size() != x.size()) {
      throw new IllegalArgumentException(op + ": " + x + " in groups of " + groupSize);
    }
  }

  @Override
  public void layerNorm(
      Tensor x, Tensor weight, Tensor bias, float eps, int groupSize, Tensor out) {
    checkGroups(x, out, groupSize, "layerNorm");
    long groups = x.size() / groupSize;
    exec(
        "layerNorm",
        () ->
            tv(out, groups, groupSize)
                .copy_(
                    torch.layer_norm(
                        tv(x, groups, groupSize),
                        new long[] {groupSize},
                        weight == null ? new TensorOptional() : new TensorOptional(f32(weight)),
                        bias == null ? new TensorOptional() : new TensorOptional(f32(bias)),
                        eps,
                        false)));
  }

  @Override
  public void rmsNorm(Tensor x, Tensor weight, float eps, int groupSize, Tensor out) {
    checkGroups(x, out, groupSize, "rmsNorm");
    long groups = x.size() / groupSize;
    exec(
        "rmsNorm",
        () ->
            tv(out, groups, groupSize)
                .copy_(
                    torch.rms_norm(
                        tv(x, groups, groupSize),
                        new long[] {groupSize},
                        weight == null ? new TensorOptional() : new TensorOptional(f32(weight)),
                        new DoubleOptional(eps))));
  }

  @Override
  public void rope(
      Tensor x, int heads, int headDim, Tensor cos, Tensor sin, int tokens, Tensor out) {
    int half = headDim / 2;
    long row = (long) heads * headDim;
    if (x.size() % row != 0 || out.size() != x.size() || tokens * row > x.size()) {
      throw new IllegalArgumentException(
          "rope: " + x + " is not [tokens >= " + tokens + ", " + heads + "*" + headDim + "]");
    }
    if (cos.size() < (long) tokens * half || sin.size() < (long) tokens * half) {
      throw new IllegalArgumentException("rope: tables shorter than " + tokens + " x " + half);
    }
    exec(
        "rope",
        () -> {
          long[] pairs = {tokens, heads, half, 2};
          var xv = strided(x, 0, pairs, contiguousStrides(pairs));
          var x0 = xv.select(3, 0);
          var x1 = xv.select(3, 1);
          long[] tab = {tokens, 1, half};
          long[] tabStride = {half, 0, 1};
          var c = strided(cos, 0, tab, tabStride);
          var s = strided(sin, 0, tab, tabStride);
          var r0 = x0.mul(c).sub(x1.mul(s));
          var r1 = x0.mul(s).add(x1.mul(c));
          if (out != x && x.size() > tokens * row) {
            long rest = x.size() - tokens * row;
            flat(out, tokens * row, rest).copy_(flat(x, tokens * row, rest));
          }
          var ov = strided(out, 0, pairs, contiguousStrides(pairs));
          ov.select(3, 0).copy_(r0);
          ov.select(3, 1).copy_(r1);
        });
  }

  @Override
  public void channelRmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
    long channels = x.dim(0);
    long plane = x.size() / channels;
    sameSize("channelRmsNorm", x, out);
    exec(
        "channelRmsNorm",
        () -> {
          var xv = tv(x, channels, plane);
          var norm =
              xv.mul(xv)
                  .sum(new long[] {0}, true, new ScalarTypeOptional())
                  .sqrt()
                  .clamp_min(scalar(eps));
          var f = norm.reciprocal().mul(scalar(Math.sqrt(channels)));
          var o = tv(out, channels, plane);
          torch.mul_out(o, xv, f);
          if (gamma != null) {
            o.mul_(tv(gamma, channels, 1));
          }
        });
  }

  @Override
  public void softmax(Tensor x, Tensor out) {
    sameSize("softmax", x, out);
    int cols = x.cols();
    exec("softmax", () -> tv(out, x.rows(), cols).copy_(torch.softmax(tv(x, x.rows(), cols), 1)));
  }

  // ------------------------------------------------------------------ convolution

  @Override
  public void conv3d(
      Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, Tensor out) {
    if (x.rank() != 4 || weight.rank() != 5 || out.rank() != 4) {
      throw new IllegalArgumentException(
          "conv3d: x [C,T,H,W], weight [O,C,kt,kh,kw], out [O,T,H,W]");
    }
    if (weight.dim(1) != x.dim(0)) {
      throw new IllegalArgumentException("conv3d: weight " + weight + " vs input " + x);
    }
    long[] o = new long[3];
    for (int i = 0; i < 3; i++) {
      o[i] = (x.dim(i + 1) + 2L * padding[i] - weight.dim(i + 2)) / stride[i] + 1;
    }
    if (out.dim(0) != weight.dim(0)
        || out.dim(1) != o[0]
        || out.dim(2) != o[1]
        || out.dim(3) != o[2]) {
      throw new IllegalArgumentException(
          "conv3d: out " + out + " should be [" + weight.dim(0) + ", " + Arrays.toString(o) + "]");
    }
    exec(
        "conv3d",
        () -> {
          var w = convWeight(weight);
          var y =
              torch.conv3d(
                  tv(x).unsqueeze(0).to(w.scalar_type()),
                  w,
                  bias == null
                      ? new TensorOptional()
                      : new TensorOptional(tv(bias).to(w.scalar_type())),
                  new long[] {stride[0], stride[1], stride[2]},
                  new long[] {padding[0], padding[1], padding[2]},
                  new long[] {1, 1, 1},
                  1);
          tv(out).unsqueeze(0).copy_(y);
        });
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
    if (x.rank() != 4 || weight.rank() != 4 || out.rank() != 4) {
      throw new IllegalArgumentException("conv2d: x [N,C,H,W], weight [O,C,kh,kw], out [N,O,H,W]");
    }
    if (weight.dim(1) != x.dim(1)) {
      throw new IllegalArgumentException("conv2d: weight " + weight + " vs input " + x);
    }
    long ho = (x.dim(2) + 2L * padH - weight.dim(2)) / strideH + 1;
    long wo = (x.dim(3) + 2L * padW - weight.dim(3)) / strideW + 1;
    if (out.dim(0) != x.dim(0)
        || out.dim(1) != weight.dim(0)
        || out.dim(2) != ho
        || out.dim(3) != wo) {
      throw new IllegalArgumentException(
          "conv2d: out "
              + out
              + " should be ["
              + x.dim(0)
              + ", "
              + weight.dim(0)
              + ", "
              + ho
              + ", "
              + wo
              + "]");
    }
    exec(
        "conv2d",
        () -> {
          var w = convWeight(weight);
          var y =
              torch.conv2d(
                  tv(x).to(w.scalar_type()),
                  w,
                  bias == null
                      ? new TensorOptional()
                      : new TensorOptional(tv(bias).to(w.scalar_type())),
                  new long[] {strideH, strideW},
                  new long[] {padH, padW},
                  new long[] {1, 1},
                  1);
          tv(out).copy_(y);
        });
  }

  /** Convolution weights: 16-bit ones in their type under MIXED16, float32 otherwise. */
  private org.bytedeco.pytorch.Tensor convWeight(Tensor weight) {
    return weight.dtype() != DType.F32 && precision == Precision.MIXED16 ? tv(weight) : f32(weight);
  }

  // ------------------------------------------------------------------ attention

  private ScalarType attentionType() {
    return precision == Precision.MIXED16 ? ScalarType.BFloat16 : ScalarType.Float;
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
   * {@code scaled_dot_product_attention} over [batch, heads, S, D] operands: the fused kernels
   * (flash, memory-efficient; the CPU flash kernel too) take only 4-d inputs, 3-d ones fall back to
   * the math kernel that materialises S x S scores.
   */
  private org.bytedeco.pytorch.Tensor sdpa(
      org.bytedeco.pytorch.Tensor q,
      org.bytedeco.pytorch.Tensor k,
      org.bytedeco.pytorch.Tensor v,
      float scale) {
    return torch.scaled_dot_product_attention(
        q, k, v, new TensorOptional(), 0.0, false, new DoubleOptional(scale), false);
  }

  /** [S, H*D] as [1, H, S, D] in the attention type. */
  private org.bytedeco.pytorch.Tensor heads(Tensor t, long s, int heads, int d) {
    return tv(t, s, heads, d).transpose(0, 1).to(attentionType()).unsqueeze(0);
  }

  @Override
  public void attention(
      Tensor q, Tensor k, Tensor v, Tensor out, int heads, int headDim, float scale) {
    int ld = heads * headDim;
    checkAttention(q, k, v, out, ld);
    long sq = q.size() / ld;
    long sk = k.size() / ld;
    if (sq == 0) {
      return;
    }
    exec(
        "attention",
        () -> {
          var o = tv(out, sq, heads, headDim);
          if (sk == 0) {
            o.zero_();
            return;
          }
          var r =
              sdpa(
                  heads(q, sq, heads, headDim),
                  heads(k, sk, heads, headDim),
                  heads(v, sk, heads, headDim),
                  scale);
          o.copy_(r.squeeze(0).transpose(0, 1));
        });
  }

  /**
   * Block-sparse attention through the dense kernel over gathered blocks: the (head, query block)
   * rows are grouped by their number of kept key blocks; for each group, in chunks of at most
   * {@code sparseChunkBytes} of gathered keys and values, the query blocks and their kept key and
   * value blocks are gathered into contiguous batches and run through {@code
   * scaled_dot_product_attention}; the results are scattered back. Work and traffic scale with the
   * kept fraction; rows without kept keys stay zero.
   */
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
    int ld = heads * headDim;
    checkAttention(q, k, v, out, ld);
    long sq = q.size() / ld;
    long sk = k.size() / ld;
    if (sq % blockSize != 0 || sk % blockSize != 0) {
      throw new IllegalArgumentException(
          "blockSparseAttention: " + sq + "/" + sk + " tokens are not multiples of " + blockSize);
    }
    int qBlocks = (int) (sq / blockSize);
    int kBlocks = (int) (sk / blockSize);
    if (mask.heads() != heads || mask.qBlocks() != qBlocks || mask.kBlocks() != kBlocks) {
      throw new IllegalArgumentException("blockSparseAttention: mask shape does not match");
    }
    mask.freeze();
    // rows grouped by kept count, so every batch has one key length
    Map<Integer, List<Integer>> byCount = new LinkedHashMap<>();
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < qBlocks; i++) {
        int c = mask.keptKeys(h, i).length;
        if (c > 0) {
          byCount.computeIfAbsent(c, x -> new ArrayList<>()).add(h * qBlocks + i);
        }
      }
    }
    ScalarType at = attentionType();
    long elemBytes = at == ScalarType.Float ? 4 : 2;
    exec(
        "blockSparseAttention",
        () -> {
          // [H * blocks, blockSize, D] contiguous in the attention type
          var qb = blocksByHead(q, qBlocks, blockSize, heads, headDim, at);
          var kb = blocksByHead(k, kBlocks, blockSize, heads, headDim, at);
          var vb = blocksByHead(v, kBlocks, blockSize, heads, headDim, at);
          var ob =
              torch.zeros(new long[] {(long) heads * qBlocks, blockSize, headDim}, options(at));
          for (var e : byCount.entrySet()) {
            int c = e.getKey();
            List<Integer> rows = e.getValue();
            long perRow = 2L * c * blockSize * headDim * elemBytes;
            int chunk = (int) Math.max(1, Math.min(rows.size(), sparseChunkBytes / perRow));
            for (int r0 = 0; r0 < rows.size(); r0 += chunk) {
              int n = Math.min(chunk, rows.size() - r0);
              long[] qi = new long[n];
              long[] ki = new long[n * c];
              for (int j = 0; j < n; j++) {
                int row = rows.get(r0 + j);
                int h = row / qBlocks;
                qi[j] = row;
                int[] kept = mask.keptKeys(h, row % qBlocks);
                for (int x = 0; x < c; x++) {
                  ki[j * c + x] = (long) h * kBlocks + kept[x];
                }
              }
              try (PointerScope inner = new PointerScope()) {
                var qIdx = longs(qi);
                var kIdx = longs(ki);
                // [n, 1, rows, D]: n query blocks as the batch, one head each
                var qs = qb.index_select(0, qIdx).unsqueeze(1);
                var ks = kb.index_select(0, kIdx).view(n, 1, (long) c * blockSize, headDim);
                var vs = vb.index_select(0, kIdx).view(n, 1, (long) c * blockSize, headDim);
                ob.index_copy_(0, qIdx, sdpa(qs, ks, vs, scale).squeeze(1));
              }
            }
          }
          // [H, QB, bs, D] -> [QB, bs, H, D] = out rows
          tv(out, qBlocks, blockSize, heads, headDim)
              .copy_(ob.view(heads, qBlocks, blockSize, headDim).permute(1, 2, 0, 3));
        });
  }

  private org.bytedeco.pytorch.Tensor blocksByHead(
      Tensor t, int blocks, int blockSize, int heads, int d, ScalarType at) {
    return tv(t, blocks, blockSize, heads, d)
        .permute(2, 0, 1, 3)
        .to(at)
        .contiguous()
        .view((long) heads * blocks, blockSize, d);
  }

  // ------------------------------------------------------------------ SSTA tile selection

  /**
   * Scores in float64 on the device with the host's roundings (normalised means rounded to float32,
   * scores rounded to float32), then a stable descending sort so ties go to the lower index, as
   * {@link TileSelection#topTiles} does.
   */
  @Override
  public int[][][] topTiles(
      Tensor qMeans, Tensor kMeans, int heads, int headDim, double lambda, int k) {
    requireF32(qMeans, "topTiles");
    requireF32(kMeans, "topTiles");
    int ld = heads * headDim;
    int nv = (int) (qMeans.size() / ld);
    if (qMeans.size() != (long) nv * ld || kMeans.size() != qMeans.size()) {
      throw new IllegalArgumentException("topTiles: " + qMeans + " / " + kMeans);
    }
    int kk = Math.min(k, nv);
    int[][][] top = new int[heads][nv][kk];
    if (kk <= 0) {
      return top;
    }
    exec(
        "topTiles",
        () -> {
          var qn = unitRows(qMeans, nv, heads, headDim);
          var kn = unitRows(kMeans, nv, heads, headDim);
          var sim = torch.bmm(qn, kn.transpose(1, 2)).add(scalar(1)).div(scalar(2));
          var red = new org.bytedeco.pytorch.Tensor[1];
          if (nv > 1) {
            var kkm = torch.bmm(kn, kn.transpose(1, 2)).add(scalar(1)).div(scalar(2));
            var diag = kkm.diagonal(0, 1, 2);
            red[0] =
                kkm.sum(new long[] {1}, false, new ScalarTypeOptional())
                    .sub(diag)
                    .div(scalar(nv - 1));
          } else {
            red[0] = torch.zeros(new long[] {heads, nv}, options(ScalarType.Double));
          }
          var score =
              sim.mul(scalar(lambda))
                  .sub(red[0].unsqueeze(1).mul(scalar(1 - lambda)))
                  .to(ScalarType.Float);
          var idx =
              torch
                  .sort(score, new BoolOptional(true), 2, true)
                  .get1()
                  .narrow(2, 0, kk)
                  .to(new Device("cpu"), ScalarType.Long)
                  .contiguous();
          long[] all = new long[heads * nv * kk];
          new LongPointer(idx.data_ptr()).get(all);
          for (int h = 0; h < heads; h++) {
            for (int i = 0; i < nv; i++) {
              int[] row = top[h][i];
              for (int j = 0; j < kk; j++) {
                row[j] = (int) all[(h * nv + i) * kk + j];
              }
              Arrays.sort(row);
            }
          }
        });
    return top;
  }

  /** [nv, H*D] means as [H, nv, D] float64 unit rows (float32-rounded; zero rows stay zero). */
  private org.bytedeco.pytorch.Tensor unitRows(Tensor means, int nv, int heads, int d) {
    var m = tv(means, nv, heads, d).transpose(0, 1).to(ScalarType.Double);
    var norm = m.mul(m).sum(new long[] {2}, true, new ScalarTypeOptional()).sqrt();
    return m.div(norm.clamp_min(scalar(Double.MIN_NORMAL)))
        .to(ScalarType.Float)
        .to(ScalarType.Double);
  }

  /** A copy of {@code x} in another storage type (round to nearest even). */
  @Override
  public Tensor convert(Tensor x, DType dtype) {
    return call(
        "convert",
        () ->
            adopt(
                dtype, x.shape(), flat(x, 0, Math.max(1, x.size())).to(scalarType(dtype)).clone()));
  }

  @Override
  public void close() {
    device.releaseReference();
  }
}
