package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens the backend a {@link BackendSpec} names. {@code cuda} without a usable GPU fails here, at
 * open, with a {@link BackendUnavailableException} saying what is missing; there is no silent
 * fallback to the CPU.
 */
@EngineApi
public final class Backends {
  private Backends() {}

  /**
   * Opens a backend.
   *
   * @param threads CPU threads for {@code cpu} and {@code torch} (libtorch's pool is process-wide);
   *     ignored for CUDA compute
   * @throws BackendUnavailableException when the device or library is not usable
   */
  public static Backend open(BackendSpec spec, int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    return switch (spec.kind()) {
      case CPU -> new CpuBackend(threads);
      case TORCH -> TorchBackend.builder().threads(threads).build();
      case CUDA -> TorchBackend.builder().cuda(spec.deviceIndex()).build();
    };
  }

  /**
   * The devices this process can use: the CPU first, then every usable CUDA device with its memory
   * and compute capability (none when libtorch is the CPU build or no GPU is visible).
   */
  public static List<DeviceInfo> devices() {
    List<DeviceInfo> out = new ArrayList<>();
    long mem = -1;
    try {
      var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
      if (os instanceof com.sun.management.OperatingSystemMXBean s) {
        mem = s.getTotalMemorySize();
      }
    } catch (RuntimeException | LinkageError e) {
      // not a HotSpot-style JVM: memory unknown
    }
    out.add(
        new DeviceInfo(
            "cpu", Runtime.getRuntime().availableProcessors() + " logical CPUs", mem, -1, ""));
    out.addAll(TorchRuntime.devices());
    return out;
  }
}
