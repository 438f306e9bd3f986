package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.backend.BackendUnavailableException.Reason;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loading libtorch and finding out what it can run on.
 *
 * <ul>
 *   <li>{@link #warmUp()} extracts libtorch into the JavaCPP cache and loads it once. An empty
 *       cache has crashed libtorch's first load inside a busy JVM, so launchers call it in a
 *       throwaway JVM first: {@code java -cp <engine classpath>
 *       dev.reelflow.engine.backend.TorchRuntime} (exit status 0 when libtorch loaded).
 *   <li>{@link #requireCuda(int)} says exactly what is missing for a CUDA device: libtorch's CUDA
 *       build on the class path, the NVIDIA driver library, a visible device, the index.
 *   <li>{@link #devices()} lists the CUDA devices with memory and compute capability.
 * </ul>
 *
 * JVMs that hold multi-GB weights in native memory must run with {@code
 * -Dorg.bytedeco.javacpp.maxPhysicalBytes=0}: JavaCPP otherwise caps native allocations at a
 * multiple of the Java heap and throws OutOfMemoryError long before the device is full. {@link
 * #load()} sets it when nobody did before JavaCPP started.
 */
@EngineApi
public final class TorchRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(TorchRuntime.class);
  private static volatile boolean loaded;

  private TorchRuntime() {}

  /** Loads libtorch (idempotent). */
  public static synchronized void load() {
    if (loaded) {
      return;
    }
    if (System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes") == null) {
      // only effective before JavaCPP's Pointer class initialised; launchers pass the flag
      System.setProperty("org.bytedeco.javacpp.maxPhysicalBytes", "0");
    }
    try {
      Loader.load(torch.class);
    } catch (Throwable e) {
      throw new BackendUnavailableException(
          Reason.LIBRARY_NOT_LOADABLE,
          "libtorch could not be loaded ("
              + e
              + "). The engine needs org.bytedeco:pytorch with its linux-x86_64 natives on the"
              + " class path; if the JavaCPP cache is corrupt, delete it and run the warm-up"
              + " (java -cp ... dev.reelflow.engine.backend.TorchRuntime)",
          e);
    }
    // libtorch 2.10's oneDNN (mkldnn) CPU convolution returns wrong values for some shapes here:
    // 3x3, stride 1, 26-28 input channels, off by up to 17 on unit-variance data (ATen's own
    // kernels and Python torch 1.13 are right; found by upscale-stage's EsrganTorchParityTest,
    // checked by BackendConformance). CUDA convolutions go through cuDNN and are unaffected.
    torch.globalContext().setUserEnabledMkldnn(false);
    // NNPACK needs CPU features many servers lack and then warns on every convolution; ATen's
    // kernels serve those convolutions either way
    torch.globalContext().setUserEnabledNNPACK(false);
    loaded = true;
  }

  /** Loads libtorch and runs one tiny operation, so the JavaCPP cache is complete. */
  public static String warmUp() {
    load();
    try (PointerScope scope = new PointerScope()) {
      double s = torch.ones(4, 4).sum().item().toDouble();
      if (s != 16.0) {
        throw new IllegalStateException("libtorch smoke test returned " + s);
      }
    }
    return "libtorch " + version() + " (" + (cudaBuild() ? "CUDA build" : "CPU build") + ")";
  }

  /** Warms the JavaCPP cache in this (throwaway) JVM; exit status 0 on success. */
  public static void main(String[] args) {
    try {
      String v = warmUp();
      // an entry point for launchers: they read this line
      System.out.println("JavaCPP cache warm: " + v);
    } catch (RuntimeException e) {
      LOG.error("libtorch warm-up failed: {}", e.getMessage());
      System.exit(1);
    }
  }

  /** libtorch's build configuration text ({@code torch::show_config()}). */
  public static String config() {
    load();
    try (PointerScope scope = new PointerScope()) {
      return torch.show_config().getString();
    }
  }

  /** The libtorch version, e.g. {@code 2.10.0}. */
  public static String version() {
    String c = config();
    int i = c.indexOf("TORCH_VERSION=");
    if (i < 0) {
      return "unknown";
    }
    int e = c.indexOf(',', i);
    return c.substring(i + "TORCH_VERSION=".length(), e < 0 ? c.length() : e).trim();
  }

  /** Whether the libtorch on the class path is the CUDA build. */
  public static boolean cudaBuild() {
    String c = config();
    return c.contains("USE_CUDA=1") || c.contains("USE_CUDA=ON");
  }

  /** Number of visible CUDA devices (0 with the CPU build or without a driver). */
  public static int cudaDeviceCount() {
    load();
    return cudaBuild() ? torch.cuda_device_count() & 0xff : 0;
  }

  /**
   * Fails with a {@link BackendUnavailableException} naming what is missing unless {@code
   * cuda:index} can run.
   */
  public static void requireCuda(int index) {
    load();
    if (!cudaBuild()) {
      throw new BackendUnavailableException(
          Reason.NO_CUDA_BUILD,
          "cuda:"
              + index
              + " needs libtorch's CUDA build, but the class path has the CPU build"
              + " (org.bytedeco:pytorch:linux-x86_64). Build the engine with -Pcuda (classifier"
              + " linux-x86_64-gpu) and run it in an image with CUDA 13, cuDNN 9 and NCCL",
          null);
    }
    int count = torch.cuda_device_count() & 0xff;
    if (count == 0) {
      String driver = driverLibrary();
      if (driver == null) {
        throw new BackendUnavailableException(
            Reason.NO_DRIVER,
            "cuda:"
                + index
                + ": the NVIDIA driver library libcuda.so.1 is not loadable (searched "
                + String.join(", ", libraryDirs())
                + "). Install the NVIDIA driver on the node and expose it to the container"
                + " (nvidia-container-toolkit, --gpus)",
            null);
      }
      throw new BackendUnavailableException(
          Reason.NO_DEVICE,
          "cuda:"
              + index
              + ": the driver ("
              + driver
              + ") is present but reports 0 CUDA devices. Check nvidia-smi, CUDA_VISIBLE_DEVICES"
              + " and the container's GPU request",
          null);
    }
    if (index < 0 || index >= count) {
      throw new BackendUnavailableException(
          Reason.BAD_INDEX,
          "cuda:"
              + index
              + " does not exist: "
              + count
              + " CUDA device(s), cuda:0..cuda:"
              + (count - 1),
          null);
    }
  }

  /**
   * The CUDA devices with total memory and compute capability (free memory -1: reading it would
   * create a CUDA context on every GPU); empty when CUDA is not usable.
   */
  public static List<DeviceInfo> devices() {
    int n = cudaDeviceCount();
    return n == 0 ? List.of() : CudaInfo.devices(n);
  }

  /** One CUDA device including its free memory (creates that device's CUDA context). */
  public static DeviceInfo device(int index) {
    requireCuda(index);
    return CudaInfo.device(index);
  }

  /** Driver and CUDA runtime versions, or why there are none. */
  public static String cudaVersions() {
    if (!cudaBuild()) {
      return "no CUDA (libtorch CPU build)";
    }
    if (cudaDeviceCount() == 0) {
      return "no CUDA device";
    }
    return CudaInfo.versions();
  }

  /** Path of a loadable libcuda.so.1 in the usual library folders, or null. */
  static String driverLibrary() {
    for (String d : libraryDirs()) {
      Path p = Path.of(d, "libcuda.so.1");
      if (Files.isReadable(p)) {
        try {
          System.load(p.toString());
          return p.toString();
        } catch (UnsatisfiedLinkError e) {
          LOG.debug("{} is not loadable: {}", p, e.getMessage());
        }
      }
    }
    return null;
  }

  private static List<String> libraryDirs() {
    List<String> dirs = new ArrayList<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) {
      for (String s : ld.split(File.pathSeparator)) {
        if (!s.isBlank()) {
          dirs.add(s);
        }
      }
    }
    dirs.addAll(
        List.of(
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/usr/local/nvidia/lib64",
            "/usr/local/cuda/compat",
            "/usr/lib/wsl/lib"));
    return dirs;
  }
}
