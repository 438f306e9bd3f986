package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * A dense, row-major tensor owned by a {@link Backend}. Storage lives outside the Java heap (for
 * the CPU backend a JavaCPP pointer, for a GPU backend device memory), so native kernels never copy
 * Java arrays. A backend may attach its own native handle (for {@link TorchBackend} the libtorch
 * tensor holding the storage); views and slices share it and record their element {@link #offset()}
 * into it. Compute tensors are {@link DType#F32}; {@link DType#BF16}/{@link DType#F16} tensors hold
 * weights and are only accepted where a method says so (for example {@link Backend#linear}).
 *
 * <p>Close tensors you no longer need; the memory is otherwise released only when the garbage
 * collector finds the tensor unreachable.
 */
@EngineApi
public final class Tensor implements AutoCloseable {
  private final Backend owner;
  private final DType dtype;
  private final long[] shape;
  private final long size;
  private final Pointer data;
  private final FloatBuffer floats;
  private final ShortBuffer shorts;
  private final boolean owning;
  private final Object handle;
  private final long offset;
  private final AutoCloseable release;
  private boolean closed;

  /**
   * Wraps storage that a backend allocated. For backend implementations only; model code gets
   * tensors from {@link Backend#allocate}.
   */
  public static Tensor wrap(Backend owner, DType dtype, long[] shape, Pointer data) {
    return new Tensor(owner, dtype, shape, data, true, null, 0, null);
  }

  /**
   * Wraps storage held by a backend-specific native object. For backend implementations only.
   *
   * @param host a host pointer to the first element when the storage is host memory (gives the
   *     {@link #floats()}/{@link #shorts()} views), or null for device memory
   * @param handle the backend's native object (for example a libtorch tensor); never null
   * @param release frees the storage when this tensor is closed (views never call it)
   */
  public static Tensor wrapNative(
      Backend owner,
      DType dtype,
      long[] shape,
      Pointer host,
      Object handle,
      AutoCloseable release) {
    if (handle == null || release == null) {
      throw new IllegalArgumentException("wrapNative needs a handle and a release action");
    }
    return new Tensor(owner, dtype, shape, host, true, handle, 0, release);
  }

  private Tensor(
      Backend owner,
      DType dtype,
      long[] shape,
      Pointer data,
      boolean owning,
      Object handle,
      long offset,
      AutoCloseable release) {
    this.owner = owner;
    this.owning = owning;
    this.dtype = dtype;
    this.shape = shape.clone();
    this.size = sizeOf(shape);
    this.data = data;
    this.handle = handle;
    this.offset = offset;
    this.release = release;
    if (data instanceof FloatPointer fp && dtype == DType.F32) {
      this.floats = fp.capacity(size).asBuffer();
      this.shorts = null;
    } else if (data instanceof ShortPointer sp) {
      this.floats = null;
      this.shorts = sp.capacity(size).asBuffer();
    } else {
      this.floats = null;
      this.shorts = null;
    }
  }

  static long sizeOf(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      n *= d;
    }
    return n;
  }

  /** The backend that allocated this tensor. */
  public Backend backend() {
    return owner;
  }

  public DType dtype() {
    return dtype;
  }

  /** A copy of the shape. */
  public long[] shape() {
    return shape.clone();
  }

  /** Size of dimension {@code i}; negative indices count from the end. */
  public long dim(int i) {
    return shape[i < 0 ? shape.length + i : i];
  }

  public int rank() {
    return shape.length;
  }

  /** Number of elements. */
  public long size() {
    return size;
  }

  /**
   * The host storage: the CPU backend's pointer, or a host pointer to a native tensor's first
   * element. Device tensors have none (see {@link #isHost()}).
   */
  public Pointer pointer() {
    ensureOpen();
    if (data == null) {
      throw new IllegalStateException("tensor " + Arrays.toString(shape) + " is device memory");
    }
    return data;
  }

  /** Whether the storage is host memory reachable through {@link #pointer()}. */
  public boolean isHost() {
    return data != null;
  }

  /**
   * The backend's native object behind this tensor (for example a libtorch tensor), shared by all
   * views and slices; null for plain pointer storage. For backend implementations.
   */
  public Object handle() {
    ensureOpen();
    return handle;
  }

  /** Element offset of this view into the storage of {@link #handle()} (0 for the owner). */
  public long offset() {
    return offset;
  }

  /**
   * Host view of float32 data, for backends whose memory is host memory. Absolute indexing only;
   * the buffer's position is not meaningful.
   */
  public FloatBuffer floats() {
    ensureOpen();
    if (floats == null) {
      throw new IllegalStateException("tensor is " + dtype + " or not host memory; no float view");
    }
    return floats;
  }

  /** Host view of 16-bit (bf16/f16) data. */
  public ShortBuffer shorts() {
    ensureOpen();
    if (shorts == null) {
      throw new IllegalStateException("tensor is " + dtype + " or not host memory; no 16-bit view");
    }
    return shorts;
  }

  /** Rows of a matrix view: product of all but the last dimension. */
  public long rows() {
    return shape.length == 0 ? 1 : size / Math.max(1, shape[shape.length - 1]);
  }

  /** Columns of a matrix view: the last dimension. */
  public int cols() {
    return shape.length == 0 ? 1 : Math.toIntExact(shape[shape.length - 1]);
  }

  /**
   * Same storage under another shape with the same number of elements. Closing a view does not
   * release the storage; close the original.
   */
  public Tensor view(long... newShape) {
    if (sizeOf(newShape) != size) {
      throw new IllegalArgumentException(
          "cannot view " + Arrays.toString(shape) + " as " + Arrays.toString(newShape));
    }
    return new Tensor(owner, dtype, newShape, data, false, handle, offset, null);
  }

  /**
   * A view of {@code Tensor.sizeOf(newShape)} consecutive elements starting at element {@code
   * offset} (for example a range of rows). Shares storage; closing it releases nothing.
   */
  public Tensor slice(long offset, long... newShape) {
    long n = sizeOf(newShape);
    if (offset < 0 || offset + n > size) {
      throw new IndexOutOfBoundsException(
          "slice [" + offset + ", " + (offset + n) + ") of " + Arrays.toString(shape));
    }
    Pointer p;
    if (data == null) {
      p = null;
    } else if (data instanceof FloatPointer fp) {
      p = new FloatPointer(fp.getPointer(offset)).capacity(Math.max(1, n));
    } else if (data instanceof ShortPointer sp) {
      p = new ShortPointer(sp.getPointer(offset)).capacity(Math.max(1, n));
    } else {
      throw new UnsupportedOperationException("slice of " + data.getClass());
    }
    return new Tensor(owner, dtype, newShape, p, false, handle, this.offset + offset, null);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      if (owning && release != null) {
        try {
          release.close();
        } catch (Exception e) {
          throw new IllegalStateException("releasing " + this + " failed", e);
        }
      } else if (owning && !data.isNull()) {
        data.deallocate();
      }
    }
  }

  boolean isClosed() {
    return closed;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("tensor " + Arrays.toString(shape) + " was closed");
    }
  }

  @Override
  public String toString() {
    return "Tensor" + Arrays.toString(shape) + " " + dtype;
  }
}
