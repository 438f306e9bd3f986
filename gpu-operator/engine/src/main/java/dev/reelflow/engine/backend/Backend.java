package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;

/**
 * The tensor operations the engine's models are written against, so that a GPU implementation can
 * replace the CPU one without touching model code.
 *
 * <p>Conventions: tensors are dense and row-major; compute tensors are {@link DType#F32}; weights
 * may be stored as {@link DType#BF16} or {@link DType#F16} where a method says so. "Rows" of a
 * tensor are all dimensions but the last, "cols" the last one. Unless stated otherwise {@code out}
 * may be the same tensor as an input (in-place). Offsets and leading dimensions are in elements.
 * All operations are deterministic for a given backend and thread count.
 */
@EngineApi
public interface Backend extends AutoCloseable {

  /** Short name, e.g. {@code cpu}. */
  String name();

  /** Human description of the device, e.g. {@code cpu (2 threads, OpenBLAS)}. */
  String device();

  // ---- memory ----

  /** A zero-filled float32 tensor. */
  default Tensor allocate(long... shape) {
    return allocate(DType.F32, shape);
  }

  /** A zero-filled tensor of the given storage type. */
  Tensor allocate(DType dtype, long... shape);

  /** A float32 tensor holding a copy of {@code data}. */
  Tensor fromArray(float[] data, long... shape);

  /** A 16-bit tensor (bf16/f16 bit patterns) holding a copy of {@code bits}. */
  Tensor fromBits(DType dtype, short[] bits, long... shape);

  /**
   * A tensor holding a copy of {@code n = sizeOf(shape)} elements of {@code dtype} read from host
   * memory at {@code data} (for example a memory-mapped safetensors region), stored in that type
   * (16-bit weights stay 16-bit). The bytes are little-endian, as on every supported host; {@code
   * data} is read before the method returns and may be unmapped afterwards.
   */
  default Tensor fromHost(org.bytedeco.javacpp.Pointer data, DType dtype, long... shape) {
    int n = Math.toIntExact(Tensor.sizeOf(shape));
    if (dtype == DType.F32) {
      float[] f = new float[n];
      new org.bytedeco.javacpp.FloatPointer(data).get(f);
      return fromArray(f, shape);
    }
    short[] s = new short[n];
    new org.bytedeco.javacpp.ShortPointer(data).get(s);
    return fromBits(dtype, s, shape);
  }

  /**
   * A copy of {@code x} converted to {@code dtype} (float32 to bf16/f16 rounds to nearest even).
   */
  default Tensor convert(Tensor x, DType dtype) {
    if (x.dtype() == DType.F32 && dtype == DType.F32) {
      Tensor t = allocate(x.shape());
      copy(x, 0, t, 0, x.size());
      return t;
    }
    if (x.dtype() != DType.F32) {
      throw new UnsupportedOperationException(
          name() + ": convert from " + x.dtype() + " is not implemented");
    }
    float[] f = toArray(x);
    short[] s = new short[f.length];
    for (int i = 0; i < f.length; i++) {
      s[i] = dtype == DType.BF16 ? DType.floatToBf16(f[i]) : DType.floatToF16(f[i]);
    }
    return fromBits(dtype, s, x.shape());
  }

  /** Copies a float32 tensor into a new array. */
  float[] toArray(Tensor t);

  /** Copies {@code n} elements from {@code src[srcOff..]} to {@code dst[dstOff..]} (float32). */
  void copy(Tensor src, long srcOff, Tensor dst, long dstOff, long n);

  /** Writes {@code data} into {@code dst} starting at element {@code dstOff}. */
  void write(Tensor dst, long dstOff, float[] data, int from, int n);

  /** Sets every element to {@code value}. */
  void fill(Tensor t, float value);

  /**
   * Row gather: {@code dst[i, :] = src[index[i], :]}; an index of -1 writes zeros. Both tensors are
   * viewed as matrices with the same number of columns.
   */
  void gatherRows(Tensor src, int[] index, Tensor dst);

  /**
   * General axis permutation: x is viewed with {@code viewShape} (same number of elements) and
   * {@code out[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]}, i.e. out has shape {@code
   * viewShape[perm[j]]} like {@code torch.permute}. Covers einops-style rearranges (pixel shuffle,
   * tile permutation) as reshape + permute + reshape. out must not alias x.
   */
  void permute(Tensor x, int[] viewShape, int[] perm, Tensor out);

  /**
   * Replicate padding of x [C, T, H, W] into out [C, T + padT0 + padT1, H + 2 padH, W + 2 padW].
   */
  void padReplicate3d(Tensor x, int padT0, int padT1, int padH, int padW, Tensor out);

  /** Group mean of rows: x [rows * group, cols] to out [rows, cols], row j = mean of its group. */
  void groupMeanRows(Tensor x, int group, Tensor out);

  // ---- GEMM ----

  /**
   * {@code C = alpha * op(A) * op(B) + beta * C} with row-major operands at the given element
   * offsets and leading dimensions; {@code op(X)} is X or its transpose. A and B may be any of F32,
   * and (for the CPU backend) B may be BF16/F16 only through {@link #linear}.
   */
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
      int ldc);

  /** {@link #gemm} over {@code batch} operand triples separated by the given strides. */
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
      long strideC);

  /**
   * Fully connected layer {@code out = x * W^T + bias}: x [rows, in], weight [outFeatures, in]
   * (F32, BF16 or F16), bias [outFeatures] or null, out [rows, outFeatures] (must not alias x).
   */
  void linear(Tensor x, Tensor weight, Tensor bias, Tensor out);

  // ---- elementwise ----

  /** {@code out = a + b} (same sizes). */
  void add(Tensor a, Tensor b, Tensor out);

  /** {@code out = a * b} (same sizes). */
  void mul(Tensor a, Tensor b, Tensor out);

  /** {@code out = alpha * a + beta * b} (same sizes). */
  void axpby(float alpha, Tensor a, float beta, Tensor b, Tensor out);

  /** {@code out = x * s}. */
  void scale(Tensor x, float s, Tensor out);

  /**
   * ReLU {@code out = max(x, 0)} (same sizes). The default goes through host memory so that every
   * backend has it; backends override it with a kernel of their own.
   */
  default void relu(Tensor x, Tensor out) {
    if (x.size() != out.size()) {
      throw new IllegalArgumentException("relu: sizes differ: " + x + ", " + out);
    }
    float[] v = toArray(x);
    for (int i = 0; i < v.length; i++) {
      v[i] = v[i] < 0f ? 0f : v[i];
    }
    write(out, 0, v, 0, v.length);
  }

  /** {@code out[r, c] = x[r, c] + row[c]}. */
  void addRow(Tensor x, Tensor row, Tensor out);

  /** SiLU {@code x * sigmoid(x)}. */
  void silu(Tensor x, Tensor out);

  /** GELU with the tanh approximation. */
  void geluTanh(Tensor x, Tensor out);

  /** Exact GELU {@code x * Phi(x)} (PyTorch's default {@code nn.GELU()}). */
  void gelu(Tensor x, Tensor out);

  /**
   * AdaLN modulation {@code out[r, c] = x[r, c] * (1 + scale[c]) + shift[c]}; shift and scale are
   * length-cols vectors, read at the given element offsets of their tensors.
   */
  void modulate(Tensor x, Tensor shift, long shiftOff, Tensor scale, long scaleOff, Tensor out);

  /** Gated residual {@code x[r, c] += gate[gateOff + c] * y[r, c]}. */
  void addGated(Tensor x, Tensor gate, long gateOff, Tensor y);

  // ---- reductions ----

  /** {@code out[r] = sum_c x[r, c]}. */
  void sumRows(Tensor x, Tensor out);

  /** Sum of all elements (double accumulation). */
  double sum(Tensor x);

  /** Maximum absolute value. */
  float maxAbs(Tensor x);

  // ---- normalisation ----

  /**
   * LayerNorm over groups of {@code groupSize} consecutive elements (usually the last dimension):
   * {@code (x - mean) / sqrt(var + eps) * weight + bias}; weight/bias of length groupSize or null.
   */
  void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, int groupSize, Tensor out);

  /**
   * RMSNorm over groups of {@code groupSize} consecutive elements (e.g. per attention head): {@code
   * x / sqrt(mean(x^2) + eps) * weight}; weight of length groupSize or null.
   */
  void rmsNorm(Tensor x, Tensor weight, float eps, int groupSize, Tensor out);

  /**
   * Rotary embedding on interleaved pairs: for x [tokens, heads, headDim] and tables cos/sin
   * [tokens, headDim/2]: {@code (x0, x1) -> (x0 c - x1 s, x0 s + x1 c)} for each pair (2j, 2j+1).
   * Only the first {@code tokens} rows of x are rotated when x has more rows.
   */
  void rope(Tensor x, int heads, int headDim, Tensor cos, Tensor sin, int tokens, Tensor out);

  /**
   * Channel-first RMS normalisation (the VAE's {@code F.normalize(x, dim=1) * sqrt(C) * gamma}): x
   * [C, P]; every column p is divided by {@code max(||x[:, p]||, eps) / sqrt(C)} and channel c
   * multiplied by gamma[c] (gamma null means 1).
   */
  void channelRmsNorm(Tensor x, Tensor gamma, float eps, Tensor out);

  /** Softmax over the last dimension. */
  void softmax(Tensor x, Tensor out);

  // ---- convolution ----

  /**
   * 3D convolution of one sample, zero padding: x [C, T, H, W], weight [O, C, kt, kh, kw], bias [O]
   * or null, out [O, To, Ho, Wo] with {@code To = (T + 2 padT - kt) / strideT + 1} etc.
   */
  void conv3d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, Tensor out);

  /**
   * 2D convolution, zero padding: x [N, C, H, W], weight [O, C, kh, kw], bias [O] or null, out [N,
   * O, Ho, Wo] with {@code Ho = (H + 2 padH - kh) / strideH + 1}.
   */
  void conv2d(
      Tensor x,
      Tensor weight,
      Tensor bias,
      int strideH,
      int strideW,
      int padH,
      int padW,
      Tensor out);

  // ---- attention ----

  /**
   * Dense scaled dot-product attention, exact softmax, computed tile by tile with an online softmax
   * so memory stays O(tile). q [Sq, heads * headDim], k and v [Sk, heads * headDim], out [Sq, heads
   * * headDim] (must not alias q/k/v).
   */
  void attention(Tensor q, Tensor k, Tensor v, Tensor out, int heads, int headDim, float scale);

  /**
   * Block-sparse attention: tokens form blocks of {@code blockSize}; query block i of head h
   * attends only to the key blocks {@code mask.keptKeys(h, i)}, with exact softmax over all their
   * tokens. Sq and Sk must be multiples of blockSize. A query block without kept keys yields zeros.
   */
  void blockSparseAttention(
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor out,
      int heads,
      int headDim,
      int blockSize,
      BlockMask mask,
      float scale);

  /**
   * SSTA top-k tile selection: for each head and query tile, the {@code min(k, tiles)} key tiles
   * with the highest importance {@code lambda * sim - (1 - lambda) * redundancy} over the
   * L2-normalised tile means (see {@link TileSelection#scores}); ties go to the lower index. {@code
   * qMeans} and {@code kMeans} are [tiles, heads*headDim]. Returns [heads][tiles][k] tile indices
   * in ascending order. Device backends score on the device and return only the indices.
   */
  default int[][][] topTiles(
      Tensor qMeans, Tensor kMeans, int heads, int headDim, double lambda, int k) {
    int tiles = Math.toIntExact(qMeans.size() / ((long) heads * headDim));
    return TileSelection.topTiles(
        TileSelection.scores(toArray(qMeans), toArray(kMeans), tiles, heads, headDim, lambda), k);
  }

  /** Releases threads and scratch memory. */
  @Override
  void close();
}
