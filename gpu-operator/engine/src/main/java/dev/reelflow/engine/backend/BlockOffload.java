package dev.reelflow.engine.backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Block offload for GPUs smaller than the model, as the official low-memory mode: the weights of
 * every transformer block live in pinned host memory and are copied to the device one block ahead
 * on a side stream, so the copy of block i+1 overlaps the compute of block i; after a block ran,
 * its device copies are released. Device memory holds at most two blocks of weights.
 *
 * <p>The model code does not change: the offloaded {@link Tensor}s keep their identity and the
 * backend resolves them to wherever their data is now. The block loop calls the two hooks:
 *
 * <pre>{@code
 * for (int i = 0; i < depth; i++) {
 *   offload.beforeBlock(i); // block i resident; prefetch of block i+1 starts
 *   doubleBlock(i, ...);
 *   offload.afterBlock(i);  // block i's device copies released
 * }
 * }</pre>
 *
 * {@link #disabled()} makes both hooks no-ops. On a CPU device the same code runs with synchronous
 * copies between two host tensors (pinning needs CUDA), which is what CI exercises.
 */
public final class BlockOffload implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BlockOffload.class);
  private static final BlockOffload DISABLED = new BlockOffload();

  private final TorchBackend backend;
  private final List<List<TorchStorage>> blocks;
  private final List<List<org.bytedeco.pytorch.Tensor>> host;
  private final boolean[] resident;
  private final Object[] pending;
  private final CudaCopyStream stream;
  private final long[] blockBytes;
  private long residentBytes;
  private long peakResidentBytes;

  private BlockOffload() {
    this.backend = null;
    this.blocks = List.of();
    this.host = List.of();
    this.resident = new boolean[0];
    this.pending = new Object[0];
    this.stream = null;
    this.blockBytes = new long[0];
  }

  private BlockOffload(TorchBackend backend, List<List<Tensor>> weights) {
    this.backend = backend;
    this.blocks = new ArrayList<>();
    this.host = new ArrayList<>();
    this.resident = new boolean[weights.size()];
    this.pending = new Object[weights.size()];
    this.blockBytes = new long[weights.size()];
    this.stream = backend.isCuda() ? new CudaCopyStream(cudaIndex(backend)) : null;
    try (PointerScope scope = new PointerScope()) {
      Device cpu = new Device("cpu");
      for (int b = 0; b < weights.size(); b++) {
        List<TorchStorage> st = new ArrayList<>();
        List<org.bytedeco.pytorch.Tensor> hs = new ArrayList<>();
        for (Tensor t : weights.get(b)) {
          if (!(t.handle() instanceof TorchStorage s) || t.backend() != backend) {
            throw new IllegalArgumentException(
                "block offload: " + t + " is not a tensor of " + backend.device());
          }
          if (t.offset() != 0 || t.size() != s.numel()) {
            throw new IllegalArgumentException(
                "block offload takes whole tensors, not views: " + t);
          }
          var dev = s.tensor();
          var h =
              dev.to(
                  cpu,
                  TorchBackend.scalarType(s.dtype()),
                  false,
                  true,
                  new org.bytedeco.pytorch.MemoryFormatOptional());
          if (backend.isCuda()) {
            h = h.pin_memory(new DeviceOptional());
          }
          h.retainReference();
          blockBytes[b] += h.nbytes();
          // the storage now points at the host copy; the device copy is released
          h.retainReference();
          s.swap(h).releaseReference();
          st.add(s);
          hs.add(h);
        }
        blocks.add(st);
        host.add(hs);
      }
    }
    LOG.info(
        "block offload: {} blocks, {} per block in {} host memory",
        weights.size(),
        DeviceOutOfMemoryException.human(Arrays.stream(blockBytes).max().orElse(0)),
        backend.isCuda() ? "pinned" : "ordinary");
  }

  private static int cudaIndex(TorchBackend b) {
    String s = b.deviceSpec();
    return Integer.parseInt(s.substring(s.indexOf(':') + 1));
  }

  /** Hooks that do nothing (everything stays where it was loaded). */
  public static BlockOffload disabled() {
    return DISABLED;
  }

  /**
   * Moves the given blocks' weights to host memory and returns the hooks that stream them back.
   *
   * @param weights per block, every weight tensor of that block (whole tensors of {@code backend})
   */
  public static BlockOffload of(Backend backend, List<List<Tensor>> weights) {
    if (!(backend instanceof TorchBackend tb)) {
      throw new IllegalArgumentException(
          "block offload needs the torch backend (cuda or torch), not " + backend.name());
    }
    return new BlockOffload(tb, weights);
  }

  public boolean enabled() {
    return backend != null;
  }

  /**
   * Makes block {@code i} resident (waiting for its prefetch) and starts prefetching {@code i+1}.
   */
  public void beforeBlock(int i) {
    if (backend == null) {
      return;
    }
    if (!resident[i]) {
      upload(i);
    }
    if (pending[i] != null) {
      stream.computeWaits((org.bytedeco.pytorch.cuda.CUDAEvent) pending[i]);
      pending[i] = null;
    }
    if (i + 1 < blocks.size() && !resident[i + 1]) {
      upload(i + 1);
    }
  }

  /** Releases block {@code i}'s device copies; its tensors read the host copies again. */
  public void afterBlock(int i) {
    if (backend == null || !resident[i]) {
      return;
    }
    List<TorchStorage> st = blocks.get(i);
    for (int j = 0; j < st.size(); j++) {
      var h = host.get(i).get(j);
      h.retainReference();
      st.get(j).swap(h).releaseReference();
    }
    resident[i] = false;
    residentBytes -= blockBytes[i];
  }

  private void upload(int i) {
    Runnable copies =
        () -> {
          try (PointerScope scope = new PointerScope()) {
            Device dev = new Device(backend.deviceSpec());
            List<TorchStorage> st = blocks.get(i);
            for (int j = 0; j < st.size(); j++) {
              TorchStorage s = st.get(j);
              var d =
                  host.get(i)
                      .get(j)
                      .to(
                          dev,
                          TorchBackend.scalarType(s.dtype()),
                          true,
                          true,
                          new org.bytedeco.pytorch.MemoryFormatOptional());
              d.retainReference();
              s.swap(d).releaseReference();
            }
          }
        };
    try {
      if (stream != null) {
        pending[i] = stream.copyAfterCompute(copies);
      } else {
        copies.run();
      }
    } catch (RuntimeException e) {
      if (DeviceOutOfMemoryException.isOutOfMemory(e.getMessage())) {
        throw DeviceOutOfMemoryException.fromTorch(backend.deviceSpec(), e.getMessage(), e);
      }
      throw e;
    }
    resident[i] = true;
    residentBytes += blockBytes[i];
    peakResidentBytes = Math.max(peakResidentBytes, residentBytes);
  }

  /** Largest number of weight bytes that were on the device at once. */
  public long peakResidentBytes() {
    return peakResidentBytes;
  }

  /** Whether block {@code i}'s weights are on the device now. */
  public boolean isResident(int i) {
    return backend != null && i >= 0 && i < resident.length && resident[i];
  }

  @Override
  public void close() {
    if (backend == null) {
      return;
    }
    for (int i = 0; i < blocks.size(); i++) {
      afterBlock(i);
      // the storages keep their host copies (one reference each); drop ours
      for (var h : host.get(i)) {
        h.releaseReference();
      }
    }
    if (stream != null) {
      stream.close();
    }
  }
}
