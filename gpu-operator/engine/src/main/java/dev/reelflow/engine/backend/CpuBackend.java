package dev.reelflow.engine.backend;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
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
 */
public final class CpuBackend implements Backend {
  private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);
  private static final int ELEMENTWISE_GRAIN = 1 << 14;
  private static final long COL_BUDGET = 1L << 24; // floats per im2col chunk (64 MiB)
  // query/key tile of the dense kernel; tunable for experiments, defaults measured on 2 cores
  private static final int DENSE_Q_BLOCK = Integer.getInteger("reelflow.engine.cpu.qblock", 256);
  private static final int DENSE_K_BLOCK = Integer.getInteger("reelflow.engine.cpu.kblock", 512);

  private final Parallel parallel;
  private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

  /** Scratch buffers of one worker thread; grown on demand, never shrunk. */
  private static final class Scratch {
    FloatPointer a;
    FloatPointer b;
    float[] m = new float[0];
    float[] l = new float[0];

    FloatPointer a(long n) {
      if (a == null || a.capacity() < n) {
        if (a != null) {
          a.deallocate();
        }
        a = new FloatPointer(n);
      }
      return a;
    }

    FloatPointer b(long n) {
      if (b == null || b.capacity() < n) {
        if (b != null) {
          b.deallocate();
        }
        b = new FloatPointer(n);
      }
      return b;
    }

    float[] row = new float[0];

    float[] row(int n) {
      if (row.length < n) {
        row = new float[n];
      }
      return row;
    }

    float[] m(int n) {
      if (m.length < n) {
        m = new float[n];
        l = new float[n];
      }
      return m;
    }
  }

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

  @Override
  public void fill(Tensor t, float value) {
    requireF32(t, "fill");
    FloatBuffer b = t.floats();
    parallel.forRange(
        (int) t.size(),
        ELEMENTWISE_GRAIN,
        (s, e) -> {
          for (int i = s; i < e; i++) {
            b.put(i, value);
          }
        });
  }

  @Override
  public void gatherRows(Tensor src, int[] index, Tensor dst) {
    int cols = src.cols();
    if (dst.cols() != cols || dst.rows() != index.length) {
      throw new IllegalArgumentException(
          "gatherRows: dst " + dst + " does not match " + index.length + " x " + cols);
    }
    FloatBuffer s = src.floats();
    FloatBuffer d = dst.floats();
    long srcRows = src.rows();
    parallel.forRange(
        index.length,
        64,
        (a, b) -> {
          for (int r = a; r < b; r++) {
            int i = index[r];
            int off = r * cols;
            if (i < 0) {
              for (int c = 0; c < cols; c++) {
                d.put(off + c, 0f);
              }
            } else {
              if (i >= srcRows) {
                throw new IndexOutOfBoundsException("row " + i + " of " + srcRows);
              }
              d.put(off, s, i * cols, cols);
            }
          }
        });
  }

  @Override
  public void permute(Tensor x, int[] viewShape, int[] perm, Tensor out) {
    int r = viewShape.length;
    long n = 1;
    for (int d : viewShape) {
      n *= d;
    }
    if (n != x.size() || out.size() != n || perm.length != r) {
      throw new IllegalArgumentException(
          "permute: " + x + " as " + Arrays.toString(viewShape) + " by " + Arrays.toString(perm));
    }
    long[] inStride = new long[r];
    long acc = 1;
    for (int i = r - 1; i >= 0; i--) {
      inStride[i] = acc;
      acc *= viewShape[i];
    }
    int[] outShape = new int[r];
    long[] srcStride = new long[r]; // source stride of each output axis
    for (int j = 0; j < r; j++) {
      outShape[j] = viewShape[perm[j]];
      srcStride[j] = inStride[perm[j]];
    }
    int last = outShape[r - 1];
    long lastStride = srcStride[r - 1];
    int outerRows = (int) (n / last);
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        outerRows,
        Math.max(1, ELEMENTWISE_GRAIN / Math.max(1, last)),
        (s0, e0) -> {
          int[] idx = new int[r];
          for (int row = s0; row < e0; row++) {
            // decompose row into the leading output indices
            int rem = row;
            long src = 0;
            for (int j = r - 2; j >= 0; j--) {
              idx[j] = rem % outShape[j];
              rem /= outShape[j];
              src += idx[j] * srcStride[j];
            }
            int dst = row * last;
            if (lastStride == 1) {
              o.put(dst, a, (int) src, last);
            } else {
              for (int c = 0; c < last; c++) {
                o.put(dst + c, a.get((int) (src + c * lastStride)));
              }
            }
          }
        });
  }

  @Override
  public void padReplicate3d(Tensor x, int padT0, int padT1, int padH, int padW, Tensor out) {
    int c = (int) x.dim(0);
    int t = (int) x.dim(1);
    int h = (int) x.dim(2);
    int w = (int) x.dim(3);
    int to = t + padT0 + padT1;
    int ho = h + 2 * padH;
    int wo = w + 2 * padW;
    if (out.dim(0) != c || out.dim(1) != to || out.dim(2) != ho || out.dim(3) != wo) {
      throw new IllegalArgumentException("padReplicate3d: out " + out + " for " + x);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        c * to,
        1,
        (s0, e0) -> {
          for (int ct = s0; ct < e0; ct++) {
            int ch = ct / to;
            int ti = Math.min(t - 1, Math.max(0, ct % to - padT0));
            for (int y = 0; y < ho; y++) {
              int yi = Math.min(h - 1, Math.max(0, y - padH));
              int src = ((ch * t + ti) * h + yi) * w;
              int dst = (ct * ho + y) * wo;
              for (int xx = 0; xx < wo; xx++) {
                int xi = Math.min(w - 1, Math.max(0, xx - padW));
                o.put(dst + xx, a.get(src + xi));
              }
            }
          }
        });
  }

  @Override
  public void groupMeanRows(Tensor x, int group, Tensor out) {
    int cols = x.cols();
    int rows = (int) out.rows();
    if (x.rows() != (long) rows * group || out.cols() != cols) {
      throw new IllegalArgumentException("groupMeanRows: " + x + " by " + group + " -> " + out);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    float inv = 1f / group;
    parallel.forRange(
        rows,
        1,
        (s0, e0) -> {
          for (int r = s0; r < e0; r++) {
            for (int c = 0; c < cols; c++) {
              float acc = 0f;
              for (int g = 0; g < group; g++) {
                acc += a.get((r * group + g) * cols + c);
              }
              o.put(r * cols + c, acc * inv);
            }
          }
        });
  }

  // ---------------------------------------------------------------- GEMM

  private static FloatPointer at(Tensor t, long off) {
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
    parallelGemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
  }

  /** Splits the larger output dimension across the pool; each slice is one sgemm call. */
  private void parallelGemm(
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

  @Override
  public void linear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
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
      addRow(out, bias, out);
    }
  }

  // ---------------------------------------------------------------- elementwise

  private interface Binary {
    float apply(float a, float b);
  }

  private void zip(Tensor a, Tensor b, Tensor out, Binary f, String op) {
    requireF32(a, op);
    requireF32(b, op);
    requireF32(out, op);
    if (a.size() != b.size() || a.size() != out.size()) {
      throw new IllegalArgumentException(op + ": sizes differ: " + a + ", " + b + ", " + out);
    }
    FloatBuffer x = a.floats();
    FloatBuffer y = b.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) a.size(),
        ELEMENTWISE_GRAIN,
        (s, e) -> {
          for (int i = s; i < e; i++) {
            o.put(i, f.apply(x.get(i), y.get(i)));
          }
        });
  }

  @Override
  public void add(Tensor a, Tensor b, Tensor out) {
    zip(a, b, out, Float::sum, "add");
  }

  @Override
  public void mul(Tensor a, Tensor b, Tensor out) {
    zip(a, b, out, (p, q) -> p * q, "mul");
  }

  @Override
  public void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out) {
    zip(a, b, out, (p, q) -> alpha * p + beta * q, "axpby");
  }

  private interface Unary {
    float apply(float v);
  }

  private void map(Tensor x, Tensor out, Unary f, String op) {
    requireF32(x, op);
    requireF32(out, op);
    if (x.size() != out.size()) {
      throw new IllegalArgumentException(op + ": sizes differ: " + x + ", " + out);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.size(),
        ELEMENTWISE_GRAIN,
        (s, e) -> {
          for (int i = s; i < e; i++) {
            o.put(i, f.apply(a.get(i)));
          }
        });
  }

  @Override
  public void scale(Tensor x, float s, Tensor out) {
    map(x, out, v -> v * s, "scale");
  }

  @Override
  public void relu(Tensor x, Tensor out) {
    map(x, out, v -> v < 0f ? 0f : v, "relu");
  }

  @Override
  public void silu(Tensor x, Tensor out) {
    map(x, out, v -> v / (1f + FastMath.exp(-v)), "silu");
  }

  private static final float GELU_C = 0.7978845608028654f; // sqrt(2/pi)

  static float gelu(float v) {
    return 0.5f * v * (1f + FastMath.tanh(GELU_C * (v + 0.044715f * v * v * v)));
  }

  @Override
  public void gelu(Tensor x, Tensor out) {
    map(x, out, v -> 0.5f * v * (1f + FastMath.erf(v * 0.70710678f)), "gelu");
  }

  @Override
  public void geluTanh(Tensor x, Tensor out) {
    map(x, out, CpuBackend::gelu, "geluTanh");
  }

  @Override
  public void addRow(Tensor x, Tensor row, Tensor out) {
    int cols = x.cols();
    if (row.size() != cols || out.size() != x.size()) {
      throw new IllegalArgumentException("addRow: " + x + " + " + row + " -> " + out);
    }
    FloatBuffer a = x.floats();
    FloatBuffer r = row.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            for (int c = 0; c < cols; c++) {
              o.put(off + c, a.get(off + c) + r.get(c));
            }
          }
        });
  }

  @Override
  public void modulate(
      Tensor x, Tensor shift, long shiftOff, Tensor scale, long scaleOff, Tensor out) {
    int cols = x.cols();
    FloatBuffer a = x.floats();
    FloatBuffer sh = shift.floats();
    FloatBuffer sc = scale.floats();
    FloatBuffer o = out.floats();
    int so = (int) shiftOff;
    int co = (int) scaleOff;
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            for (int c = 0; c < cols; c++) {
              o.put(off + c, a.get(off + c) * (1f + sc.get(co + c)) + sh.get(so + c));
            }
          }
        });
  }

  @Override
  public void addGated(Tensor x, Tensor gate, long gateOff, Tensor y) {
    int cols = x.cols();
    if (y.size() != x.size()) {
      throw new IllegalArgumentException("addGated: " + x + " vs " + y);
    }
    FloatBuffer a = x.floats();
    FloatBuffer g = gate.floats();
    FloatBuffer b = y.floats();
    int go = (int) gateOff;
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            for (int c = 0; c < cols; c++) {
              a.put(off + c, a.get(off + c) + g.get(go + c) * b.get(off + c));
            }
          }
        });
  }

  // ---------------------------------------------------------------- reductions

  @Override
  public void sumRows(Tensor x, Tensor out) {
    int cols = x.cols();
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            float acc = 0f;
            for (int c = 0; c < cols; c++) {
              acc += a.get(off + c);
            }
            o.put(i, acc);
          }
        });
  }

  @Override
  public double sum(Tensor x) {
    FloatBuffer a = x.floats();
    double acc = 0;
    for (int i = 0, n = (int) x.size(); i < n; i++) {
      acc += a.get(i);
    }
    return acc;
  }

  @Override
  public float maxAbs(Tensor x) {
    FloatBuffer a = x.floats();
    float m = 0f;
    for (int i = 0, n = (int) x.size(); i < n; i++) {
      m = Math.max(m, Math.abs(a.get(i)));
    }
    return m;
  }

  // ---------------------------------------------------------------- normalisation

  @Override
  public void layerNorm(
      Tensor x, Tensor weight, Tensor bias, float eps, int groupSize, Tensor out) {
    checkGroups(x, out, groupSize, "layerNorm");
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer w = weight == null ? null : weight.floats();
    FloatBuffer bb = bias == null ? null : bias.floats();
    int groups = (int) (x.size() / groupSize);
    parallel.forRange(
        groups,
        Math.max(1, ELEMENTWISE_GRAIN / groupSize),
        (s, e) -> {
          for (int g = s; g < e; g++) {
            int off = g * groupSize;
            double mean = 0;
            for (int c = 0; c < groupSize; c++) {
              mean += a.get(off + c);
            }
            mean /= groupSize;
            double var = 0;
            for (int c = 0; c < groupSize; c++) {
              double d = a.get(off + c) - mean;
              var += d * d;
            }
            var /= groupSize;
            float inv = (float) (1.0 / Math.sqrt(var + eps));
            float mu = (float) mean;
            for (int c = 0; c < groupSize; c++) {
              float v = (a.get(off + c) - mu) * inv;
              if (w != null) {
                v *= w.get(c);
              }
              if (bb != null) {
                v += bb.get(c);
              }
              o.put(off + c, v);
            }
          }
        });
  }

  @Override
  public void rmsNorm(Tensor x, Tensor weight, float eps, int groupSize, Tensor out) {
    checkGroups(x, out, groupSize, "rmsNorm");
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer w = weight == null ? null : weight.floats();
    int groups = (int) (x.size() / groupSize);
    parallel.forRange(
        groups,
        Math.max(1, ELEMENTWISE_GRAIN / groupSize),
        (s, e) -> {
          for (int g = s; g < e; g++) {
            int off = g * groupSize;
            double ss = 0;
            for (int c = 0; c < groupSize; c++) {
              float v = a.get(off + c);
              ss += v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(ss / groupSize + eps));
            for (int c = 0; c < groupSize; c++) {
              float v = a.get(off + c) * inv;
              o.put(off + c, w == null ? v : v * w.get(c));
            }
          }
        });
  }

  private static void checkGroups(Tensor x, Tensor out, int groupSize, String op) {
    requireF32(x, op);
    requireF32(out, op);
    if (groupSize <= 0 || x.size() % groupSize != 0 || out.size() != x.size()) {
      throw new IllegalArgumentException(op + ": " + x + " in groups of " + groupSize);
    }
  }

  @Override
  public void rope(
      Tensor x, int heads, int headDim, Tensor cos, Tensor sin, int tokens, Tensor out) {
    int half = headDim / 2;
    int row = heads * headDim;
    if (x.cols() * (x.rank() == 3 ? x.dim(1) : 1) != row && x.size() % row != 0) {
      throw new IllegalArgumentException(
          "rope: " + x + " is not [tokens, " + heads + "*" + headDim);
    }
    if (cos.size() < (long) tokens * half || sin.size() < (long) tokens * half) {
      throw new IllegalArgumentException("rope: tables shorter than " + tokens + " x " + half);
    }
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer cb = cos.floats();
    FloatBuffer sb = sin.floats();
    if (out != x) {
      copy(x, 0, out, 0, x.size());
    }
    parallel.forRange(
        tokens,
        Math.max(1, ELEMENTWISE_GRAIN / row),
        (s, e) -> {
          for (int t = s; t < e; t++) {
            int tOff = t * half;
            for (int h = 0; h < heads; h++) {
              int off = t * row + h * headDim;
              for (int j = 0; j < half; j++) {
                float c = cb.get(tOff + j);
                float sn = sb.get(tOff + j);
                float x0 = a.get(off + 2 * j);
                float x1 = a.get(off + 2 * j + 1);
                o.put(off + 2 * j, x0 * c - x1 * sn);
                o.put(off + 2 * j + 1, x0 * sn + x1 * c);
              }
            }
          }
        });
  }

  @Override
  public void channelRmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
    int channels = (int) x.dim(0);
    int plane = (int) (x.size() / channels);
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    FloatBuffer g = gamma == null ? null : gamma.floats();
    float root = (float) Math.sqrt(channels);
    parallel.forRange(
        plane,
        256,
        (s0, e0) -> {
          int len = e0 - s0;
          double[] ss = new double[len];
          for (int c = 0; c < channels; c++) {
            int base = c * plane;
            for (int p = s0; p < e0; p++) {
              float v = a.get(base + p);
              ss[p - s0] += v * v;
            }
          }
          float[] inv = new float[len];
          for (int i = 0; i < len; i++) {
            inv[i] = root / (float) Math.max(Math.sqrt(ss[i]), eps);
          }
          for (int c = 0; c < channels; c++) {
            int base = c * plane;
            float gc = g == null ? 1f : g.get(c);
            for (int p = s0; p < e0; p++) {
              o.put(base + p, a.get(base + p) * inv[p - s0] * gc);
            }
          }
        });
  }

  @Override
  public void softmax(Tensor x, Tensor out) {
    int cols = x.cols();
    FloatBuffer a = x.floats();
    FloatBuffer o = out.floats();
    parallel.forRange(
        (int) x.rows(),
        Math.max(1, ELEMENTWISE_GRAIN / cols),
        (s, e) -> {
          for (int i = s; i < e; i++) {
            int off = i * cols;
            float mx = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
              mx = Math.max(mx, a.get(off + c));
            }
            float sum = 0f;
            for (int c = 0; c < cols; c++) {
              float p = FastMath.exp(a.get(off + c) - mx);
              o.put(off + c, p);
              sum += p;
            }
            float inv = 1f / sum;
            for (int c = 0; c < cols; c++) {
              o.put(off + c, o.get(off + c) * inv);
            }
          }
        });
  }

  // ---------------------------------------------------------------- convolution

  @Override
  public void conv3d(
      Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, Tensor out) {
    if (x.rank() != 4 || weight.rank() != 5 || out.rank() != 4) {
      throw new IllegalArgumentException(
          "conv3d: x [C,T,H,W], weight [O,C,kt,kh,kw], out [O,T,H,W]");
    }
    int c = (int) x.dim(0);
    if (weight.dim(1) != c) {
      throw new IllegalArgumentException("conv3d: weight " + weight + " vs input " + x);
    }
    int[] in = {(int) x.dim(1), (int) x.dim(2), (int) x.dim(3)};
    int[] k = {(int) weight.dim(2), (int) weight.dim(3), (int) weight.dim(4)};
    int[] o = new int[3];
    for (int i = 0; i < 3; i++) {
      o[i] = (in[i] + 2 * padding[i] - k[i]) / stride[i] + 1;
    }
    int outC = (int) weight.dim(0);
    if (out.dim(0) != outC || out.dim(1) != o[0] || out.dim(2) != o[1] || out.dim(3) != o[2]) {
      throw new IllegalArgumentException(
          "conv3d: out " + out + " should be [" + outC + ", " + Arrays.toString(o) + "]");
    }
    convSample(x, 0, c, in, weight, bias, k, stride, padding, out, 0, outC, o);
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
    int n = (int) x.dim(0);
    int c = (int) x.dim(1);
    if (weight.dim(1) != c) {
      throw new IllegalArgumentException("conv2d: weight " + weight + " vs input " + x);
    }
    int[] in = {1, (int) x.dim(2), (int) x.dim(3)};
    int[] k = {1, (int) weight.dim(2), (int) weight.dim(3)};
    int[] st = {1, strideH, strideW};
    int[] pd = {0, padH, padW};
    int[] o = {1, (in[1] + 2 * padH - k[1]) / strideH + 1, (in[2] + 2 * padW - k[2]) / strideW + 1};
    int outC = (int) weight.dim(0);
    if (out.dim(0) != n || out.dim(1) != outC || out.dim(2) != o[1] || out.dim(3) != o[2]) {
      throw new IllegalArgumentException(
          "conv2d: out "
              + out
              + " should be ["
              + n
              + ", "
              + outC
              + ", "
              + o[1]
              + ", "
              + o[2]
              + "]");
    }
    if (strideH == 1
        && strideW == 1
        && k[1] * k[2] > 1
        && k[1] % 2 == 1
        && k[2] % 2 == 1
        && padH == (k[1] - 1) / 2
        && padW == (k[2] - 1) / 2
        && in[2] > 2 * padW) {
      conv2dSame(x, weight, bias, out);
      return;
    }
    for (int s = 0; s < n; s++) {
      convSample(
          x,
          (long) s * c * in[1] * in[2],
          c,
          in,
          weight,
          bias,
          k,
          st,
          pd,
          out,
          (long) s * outC * o[1] * o[2],
          outC,
          o);
    }
  }

  /** Output columns per task of {@link #conv2dSame}; fixed so results do not depend on threads. */
  private static final int SAME_CONV_COLUMNS = 2048;

  /**
   * Stride-1 "same" conv2d (odd kernel, padding (k - 1) / 2) without im2col or a padded copy. The
   * output is first set to the bias; then every tap (dy, dx) is one GEMM [O, C] x [C, positions]
   * that reads the input plane shifted by oy * W + ox, over the positions whose source row exists
   * (the zero padding of the top and bottom rows). Only the pw columns at each side read across a
   * row end; they are recomputed exactly afterwards from a small im2col of just those columns. The
   * GEMMs run over column slices sized for the cache, all taps of a slice on one thread.
   */
  private void conv2dSame(Tensor x, Tensor weight, Tensor bias, Tensor out) {
    requireF32(x, "conv2d");
    requireF32(weight, "conv2d weight");
    requireF32(out, "conv2d");
    int n = (int) x.dim(0);
    int c = (int) x.dim(1);
    int h = (int) x.dim(2);
    int w = (int) x.dim(3);
    int o = (int) weight.dim(0);
    int kh = (int) weight.dim(2);
    int kw = (int) weight.dim(3);
    int ph = (kh - 1) / 2;
    int pw = (kw - 1) / 2;
    int taps = kh * kw;
    int ck = c * taps;
    int plane = Math.multiplyExact(h, w);
    // weights regrouped per tap: [taps][O][C]
    float[] wt = new float[taps * o * c];
    FloatBuffer wb = weight.floats();
    for (int oo = 0; oo < o; oo++) {
      for (int cc = 0; cc < c; cc++) {
        int src = (oo * c + cc) * taps;
        for (int t = 0; t < taps; t++) {
          wt[(t * o + oo) * c + cc] = wb.get(src + t);
        }
      }
    }
    int[] borderX = new int[Math.min(w, 2 * pw)];
    for (int i = 0; i < borderX.length; i++) {
      borderX[i] = i < pw ? i : w - 2 * pw + i;
    }
    int nb = borderX.length * h;
    Scratch sc = scratch.get();
    // views, so that the scratch pointers' own position and limit stay untouched
    FloatPointer col = new FloatPointer(sc.a(Math.max(1L, (long) ck * nb))).position(0);
    FloatPointer res = new FloatPointer(sc.b(Math.max(1L, (long) o * nb))).position(0);
    FloatBuffer cb = col.limit((long) ck * nb).asBuffer();
    FloatBuffer rb = res.limit((long) o * nb).asBuffer();
    FloatBuffer xb = x.floats();
    FloatBuffer ob = out.floats();
    float[] bv = new float[o];
    if (bias != null) {
      bias.floats().get(0, bv);
    }
    int chunks = (plane + SAME_CONV_COLUMNS - 1) / SAME_CONV_COLUMNS;
    try (FloatPointer wtp = new FloatPointer(wt)) {
      for (int s = 0; s < n; s++) {
        long xOff = (long) s * c * plane;
        long outOff = (long) s * o * plane;
        parallel.forRange(
            o,
            1,
            (o0, o1) -> {
              float[] row = new float[Math.min(plane, 1 << 14)];
              for (int oo = o0; oo < o1; oo++) {
                java.util.Arrays.fill(row, bv[oo]);
                for (int p = 0; p < plane; p += row.length) {
                  ob.put(
                      (int) (outOff + (long) oo * plane + p),
                      row,
                      0,
                      Math.min(row.length, plane - p));
                }
              }
            });
        parallel.forEach(
            chunks,
            (k0, k1) -> {
              for (int k = k0; k < k1; k++) {
                int c0 = k * SAME_CONV_COLUMNS;
                int c1 = Math.min(plane, c0 + SAME_CONV_COLUMNS);
                for (int t = 0; t < taps; t++) {
                  int oy = t / kw - ph;
                  int shift = oy * w + t % kw - pw;
                  int lo = Math.max(c0, Math.max(Math.max(0, -oy) * w, -shift));
                  int hi = Math.min(c1, Math.min(Math.min(h, h - oy) * w, plane - shift));
                  if (hi > lo) {
                    sgemm(
                        false,
                        false,
                        o,
                        hi - lo,
                        c,
                        1f,
                        new FloatPointer(wtp).position((long) t * o * c),
                        c,
                        at(x, xOff + lo + shift),
                        plane,
                        1f,
                        at(out, outOff + lo),
                        plane);
                  }
                }
              }
            });
        if (nb == 0) {
          continue;
        }
        // the border columns, exactly: im2col of those positions, one GEMM, bias, scatter
        parallel.forRange(
            ck,
            4,
            (r0, r1) -> {
              for (int r = r0; r < r1; r++) {
                int dx = r % kw - pw;
                int dy = (r / kw) % kh - ph;
                int ch = r / taps;
                int j = r * nb;
                for (int y = 0; y < h; y++) {
                  int yi = y + dy;
                  for (int bx : borderX) {
                    int xi = bx + dx;
                    cb.put(
                        j++,
                        yi >= 0 && yi < h && xi >= 0 && xi < w
                            ? xb.get((int) (xOff + (long) ch * plane + yi * w + xi))
                            : 0f);
                  }
                }
              }
            });
        sgemm(false, false, o, nb, ck, 1f, at(weight, 0), ck, col, nb, 0f, res, nb);
        for (int oo = 0; oo < o; oo++) {
          int j = oo * nb;
          long base = outOff + (long) oo * plane;
          for (int y = 0; y < h; y++) {
            for (int bx : borderX) {
              ob.put((int) (base + y * w + bx), rb.get(j++) + bv[oo]);
            }
          }
        }
      }
    }
  }

  /** im2col + GEMM for one sample, chunked by output rows so the column buffer stays bounded. */
  private void convSample(
      Tensor x,
      long xOff,
      int c,
      int[] in,
      Tensor weight,
      Tensor bias,
      int[] k,
      int[] stride,
      int[] pad,
      Tensor out,
      long outOff,
      int outC,
      int[] o) {
    requireF32(x, "conv");
    requireF32(weight, "conv weight");
    requireF32(out, "conv");
    int ck = c * k[0] * k[1] * k[2];
    long outPlane = (long) o[0] * o[1] * o[2];
    boolean pointwise =
        k[0] == 1
            && k[1] == 1
            && k[2] == 1
            && pad[0] == 0
            && pad[1] == 0
            && pad[2] == 0
            && stride[0] == 1
            && stride[1] == 1
            && stride[2] == 1;
    if (pointwise) {
      parallelGemm(
          false,
          false,
          outC,
          (int) outPlane,
          c,
          1f,
          weight,
          0,
          c,
          x,
          xOff,
          (int) outPlane,
          0f,
          out,
          outOff,
          (int) outPlane);
    } else {
      int chunkRows = (int) Math.max(1, Math.min(o[1], COL_BUDGET / ((long) ck * o[2])));
      Tensor col = allocate((long) ck * chunkRows * o[2]);
      try {
        FloatBuffer xb = x.floats();
        FloatBuffer cb = col.floats();
        for (int t = 0; t < o[0]; t++) {
          for (int h0 = 0; h0 < o[1]; h0 += chunkRows) {
            int rowsHere = Math.min(chunkRows, o[1] - h0);
            int n = rowsHere * o[2];
            int tt = t;
            int hh0 = h0;
            parallel.forRange(
                ck,
                4,
                (r0, r1) -> {
                  for (int r = r0; r < r1; r++) {
                    int kw = r % k[2];
                    int kh = (r / k[2]) % k[1];
                    int kt = (r / (k[2] * k[1])) % k[0];
                    int ch = r / (k[2] * k[1] * k[0]);
                    int ti = tt * stride[0] - pad[0] + kt;
                    int base = r * n;
                    boolean tIn = ti >= 0 && ti < in[0];
                    for (int yy = 0; yy < rowsHere; yy++) {
                      int hi = (hh0 + yy) * stride[1] - pad[1] + kh;
                      int dst = base + yy * o[2];
                      if (!tIn || hi < 0 || hi >= in[1]) {
                        for (int xx = 0; xx < o[2]; xx++) {
                          cb.put(dst + xx, 0f);
                        }
                        continue;
                      }
                      long src = xOff + (((long) ch * in[0] + ti) * in[1] + hi) * in[2];
                      if (stride[2] == 1) {
                        // contiguous source run: bulk copy the valid span, zero the borders
                        int lo = Math.max(0, pad[2] - kw);
                        int hiX = Math.min(o[2], in[2] + pad[2] - kw);
                        for (int xx = 0; xx < lo; xx++) {
                          cb.put(dst + xx, 0f);
                        }
                        if (hiX > lo) {
                          cb.put(dst + lo, xb, (int) (src + lo - pad[2] + kw), hiX - lo);
                        }
                        for (int xx = Math.max(lo, hiX); xx < o[2]; xx++) {
                          cb.put(dst + xx, 0f);
                        }
                        continue;
                      }
                      for (int xx = 0; xx < o[2]; xx++) {
                        int wi = xx * stride[2] - pad[2] + kw;
                        cb.put(dst + xx, wi >= 0 && wi < in[2] ? xb.get((int) (src + wi)) : 0f);
                      }
                    }
                  }
                });
            long cOff = outOff + ((long) t * o[1] + h0) * o[2];
            parallelGemm(
                false,
                false,
                outC,
                n,
                ck,
                1f,
                weight,
                0,
                ck,
                col,
                0,
                n,
                0f,
                out,
                cOff,
                (int) outPlane);
          }
        }
      } finally {
        col.close();
      }
    }
    if (bias != null) {
      FloatBuffer ob = out.floats();
      FloatBuffer bb = bias.floats();
      int plane = (int) outPlane;
      parallel.forRange(
          outC,
          1,
          (s, e) -> {
            for (int oc = s; oc < e; oc++) {
              float b = bb.get(oc);
              int base = (int) (outOff + (long) oc * plane);
              for (int i = 0; i < plane; i++) {
                ob.put(base + i, ob.get(base + i) + b);
              }
            }
          });
    }
  }

  // ---------------------------------------------------------------- attention

  @Override
  public void attention(
      Tensor q, Tensor k, Tensor v, Tensor out, int heads, int headDim, float scale) {
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
    Scratch sc = scratch.get();
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

  private static void requireF32(Tensor t, String op) {
    if (t.dtype() != DType.F32) {
      throw new IllegalArgumentException(op + " needs a float32 tensor, got " + t);
    }
  }

  @Override
  public void close() {
    parallel.close();
  }
}
