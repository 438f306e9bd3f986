package dev.reelflow.engine.backend;

import org.bytedeco.pytorch.Tensor;

/**
 * The native handle of a {@link TorchBackend} tensor: a flat libtorch tensor holding the storage.
 * Views of our {@link dev.reelflow.engine.backend.Tensor} share one handle and address it by
 * element offset. The held libtorch tensor may be swapped (same dtype and size) by {@link
 * BlockOffload}, which moves weights between host and device without the model code noticing.
 *
 * <p>The held tensor carries one JavaCPP reference taken by its creator ({@code
 * retainReference()}), so it outlives the {@code PointerScope} of the operation that made it and is
 * freed exactly when released here, never by the garbage collector.
 */
final class TorchStorage implements AutoCloseable {
  private final DType dtype;
  private final long numel;
  private Tensor current;
  private boolean closed;

  TorchStorage(DType dtype, long numel, Tensor flat) {
    this.dtype = dtype;
    this.numel = numel;
    this.current = flat;
  }

  DType dtype() {
    return dtype;
  }

  long numel() {
    return numel;
  }

  /** The flat libtorch tensor now holding the data. */
  synchronized Tensor tensor() {
    if (closed) {
      throw new IllegalStateException("tensor storage was closed");
    }
    return current;
  }

  /**
   * Replaces the held tensor (same dtype and element count, possibly another device) and returns
   * the previous one, which the caller now owns.
   */
  synchronized Tensor swap(Tensor next) {
    if (closed) {
      throw new IllegalStateException("tensor storage was closed");
    }
    if (next.numel() != numel) {
      throw new IllegalArgumentException("swap of " + next.numel() + " elements into " + numel);
    }
    Tensor prev = current;
    current = next;
    return prev;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      current.releaseReference();
      current = null;
    }
  }
}
