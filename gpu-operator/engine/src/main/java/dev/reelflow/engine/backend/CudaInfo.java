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

  static List<DeviceInfo> devices(int count) {
    List<DeviceInfo> out = new ArrayList<>();
    try (PointerScope scope = new PointerScope()) {
      for (int i = 0; i < count; i++) {
        cudaDeviceProp p = torch_cuda.getDeviceProperties((byte) i);
        long free = -1;
        long total = p.totalGlobalMem();
        if (cudart.cudaSetDevice(i) == 0) {
          SizeTPointer f = new SizeTPointer(1);
          SizeTPointer t = new SizeTPointer(1);
          if (cudart.cudaMemGetInfo(f, t) == 0) {
            free = f.get();
            total = t.get();
          }
        }
        out.add(
            new DeviceInfo(
                "cuda:" + i, p.name().getString(), total, free, p.major() + "." + p.minor()));
      }
    }
    return out;
  }

  /** Free bytes on one device, or -1. */
  static long freeBytes(int index) {
    try (PointerScope scope = new PointerScope()) {
      if (cudart.cudaSetDevice(index) != 0) {
        return -1;
      }
      SizeTPointer f = new SizeTPointer(1);
      SizeTPointer t = new SizeTPointer(1);
      return cudart.cudaMemGetInfo(f, t) == 0 ? f.get() : -1;
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
