package dev.reelflow.engine.backend;

import org.bytedeco.pytorch.cuda.CUDAEvent;
import org.bytedeco.pytorch.cuda.CUDAStream;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * A side CUDA stream for host-to-device weight copies that overlap compute, with the events that
 * order it against the compute stream. CUDA only (never loaded on a CPU device), so it does not run
 * in CI; {@link BlockOffload} uses synchronous copies on the CPU.
 */
final class CudaCopyStream implements AutoCloseable {
  private final byte device;
  private final CUDAStream copy;
  private final CUDAStream compute;

  CudaCopyStream(int device) {
    this.device = (byte) device;
    this.copy = torch_cuda.getStreamFromPool(false, this.device);
    this.copy.retainReference();
    this.compute = torch_cuda.getCurrentCUDAStream(this.device);
    this.compute.retainReference();
  }

  /** Runs {@code copies} with the copy stream current, after the compute stream reached now. */
  CUDAEvent copyAfterCompute(Runnable copies) {
    CUDAEvent computed = new CUDAEvent();
    computed.record(compute);
    computed.block(copy); // freed blocks the copies may reuse are no longer read by compute
    torch_cuda.setCurrentCUDAStream(copy);
    try {
      copies.run();
    } finally {
      torch_cuda.setCurrentCUDAStream(compute);
    }
    CUDAEvent copied = new CUDAEvent();
    copied.record(copy);
    computed.close();
    return copied;
  }

  /** Makes the compute stream wait for an event of the copy stream. */
  void computeWaits(CUDAEvent copied) {
    copied.block(compute);
    copied.close();
  }

  @Override
  public void close() {
    copy.releaseReference();
    compute.releaseReference();
  }
}
