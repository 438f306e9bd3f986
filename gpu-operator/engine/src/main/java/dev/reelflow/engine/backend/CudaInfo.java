package dev.reelflow.engine.backend;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * CUDA device properties through the CUDA runtime. Touched only after {@link TorchRuntime} found a
 * usable CUDA build and device, so CPU-only runs never load the CUDA classes. Runs only on a GPU
 * machine (not in CI).
 */
final class CudaInfo {
  private CudaInfo() {}

  /**
   * Every device's name, memory and compute capability. Free memory is left unknown (-1): reading
   * it needs a CUDA context on the device, and a process must not create contexts (hundreds of MB
   * each) on GPUs that other workers use; see {@link #device(int)}.
   */
  static List<DeviceInfo> devices(int count) {
    List<DeviceInfo> out = new ArrayList<>();
    try (PointerScope scope = new PointerScope()) {
      for (int i = 0; i < count; i++) {
        cudaDeviceProp p = torch_cuda.getDeviceProperties((byte) i);
        out.add(
            new DeviceInfo(
                "cuda:" + i,
                p.name().getString(),
                p.totalGlobalMem(),
                -1,
                p.major() + "." + p.minor()));
      }
    }
    return out;
  }

  /** One device with its free memory (creates the CUDA context of that device only). */
  static DeviceInfo device(int index) {
    DeviceInfo d = devices(index + 1).get(index);
    return new DeviceInfo(
        d.spec(), d.name(), d.totalBytes(), freeBytes(index), d.computeCapability());
  }

  /** Free bytes on one device, or -1; the calling thread's current device is restored. */
  static long freeBytes(int index) {
    int[] previous = new int[1];
    boolean restore = cudart.cudaGetDevice(previous) == 0;
    try (PointerScope scope = new PointerScope()) {
      if (cudart.cudaSetDevice(index) != 0) {
        return -1;
      }
      SizeTPointer f = new SizeTPointer(1);
      SizeTPointer t = new SizeTPointer(1);
      return cudart.cudaMemGetInfo(f, t) == 0 ? f.get() : -1;
    } finally {
      if (restore) {
        cudart.cudaSetDevice(previous[0]);
      }
    }
  }

  /** {@code driver 13.0, runtime 13.1} as the CUDA runtime reports them. */
  static String versions() {
    int[] d = new int[1];
    int[] r = new int[1];
    cudart.cudaDriverGetVersion(d);
    cudart.cudaRuntimeGetVersion(r);
    return "CUDA driver " + cudaVersion(d[0]) + ", runtime " + cudaVersion(r[0]);
  }

  private static String cudaVersion(int v) {
    return v <= 0 ? "unknown" : (v / 1000) + "." + (v % 1000) / 10;
  }
}
