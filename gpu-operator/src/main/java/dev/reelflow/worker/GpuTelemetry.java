package dev.reelflow.worker;

import static org.bytedeco.cuda.global.nvml.NVML_SUCCESS;
import static org.bytedeco.cuda.global.nvml.nvmlDeviceGetCount_v2;
import static org.bytedeco.cuda.global.nvml.nvmlDeviceGetHandleByIndex_v2;
import static org.bytedeco.cuda.global.nvml.nvmlDeviceGetMemoryInfo;
import static org.bytedeco.cuda.global.nvml.nvmlDeviceGetName;
import static org.bytedeco.cuda.global.nvml.nvmlDeviceGetUtilizationRates;
import static org.bytedeco.cuda.global.nvml.nvmlErrorString;
import static org.bytedeco.cuda.global.nvml.nvmlInit_v2;
import static org.bytedeco.cuda.global.nvml.nvmlShutdown;
import static org.bytedeco.cuda.global.nvml.nvmlSystemGetCudaDriverVersion_v2;
import static org.bytedeco.cuda.global.nvml.nvmlSystemGetDriverVersion;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.global.nvml;
import org.bytedeco.cuda.nvml.nvmlDevice_st;
import org.bytedeco.cuda.nvml.nvmlMemory_t;
import org.bytedeco.cuda.nvml.nvmlUtilization_t;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GPU memory and utilization per device through NVML, the driver's management library (through the
 * JavaCPP CUDA preset; the library itself comes with the NVIDIA driver, not from Maven). On a
 * machine without the driver {@link #open()} returns an instance that reports no devices and says
 * why in {@link #unavailableReason()}, so a CPU worker exports no GPU samples rather than failing.
 */
public final class GpuTelemetry implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GpuTelemetry.class);

  /** Worker series fed by this class: memory used, memory total, utilization (0..1). */
  public static final String MEMORY_USED = "reelflow_worker_gpu_memory_used_bytes";

  public static final String MEMORY_TOTAL = "reelflow_worker_gpu_memory_total_bytes";
  public static final String UTILIZATION = "reelflow_worker_gpu_utilization_ratio";

  /**
   * The labels of those series: the device index and its name. The series have samples only where
   * NVML answers, so a scrape of a CPU worker does not show them at all.
   */
  public static final List<String> LABELS = List.of("gpu", "name");

  /** One device's reading. */
  public record DeviceSample(
      int index, String name, long memoryTotalBytes, long memoryUsedBytes, double utilization) {}

  private final String unavailableReason;
  private final String driverVersion;
  private final int cudaDriverVersion;
  private final List<nvmlDevice_st> handles;
  private final List<String> names;

  private GpuTelemetry(
      String unavailableReason,
      String driverVersion,
      int cudaDriverVersion,
      List<nvmlDevice_st> handles,
      List<String> names) {
    this.unavailableReason = unavailableReason;
    this.driverVersion = driverVersion;
    this.cudaDriverVersion = cudaDriverVersion;
    this.handles = handles;
    this.names = names;
  }

  /** Initialises NVML; never throws: without a driver the instance is empty and says why. */
  public static GpuTelemetry open() {
    try {
      Loader.load(nvml.class);
    } catch (Throwable e) {
      // UnsatisfiedLinkError or a wrapped loader error: no libnvidia-ml on this machine
      return unavailable(
          "NVML (libnvidia-ml.so.1, part of the NVIDIA driver) cannot be loaded: " + e);
    }
    int rc = nvmlInit_v2();
    if (rc != NVML_SUCCESS) {
      return unavailable("nvmlInit failed: " + error(rc));
    }
    String driver;
    int cuda;
    try (BytePointer buf = new BytePointer(96);
        IntPointer v = new IntPointer(1);
        IntPointer count = new IntPointer(1)) {
      driver = nvmlSystemGetDriverVersion(buf, 96) == NVML_SUCCESS ? buf.getString() : "unknown";
      cuda = nvmlSystemGetCudaDriverVersion_v2(v) == NVML_SUCCESS ? v.get() : 0;
      rc = nvmlDeviceGetCount_v2(count);
      if (rc != NVML_SUCCESS) {
        nvmlShutdown();
        return unavailable("nvmlDeviceGetCount failed: " + error(rc));
      }
      List<nvmlDevice_st> handles = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (int i = 0; i < count.get(); i++) {
        nvmlDevice_st h = new nvmlDevice_st();
        rc = nvmlDeviceGetHandleByIndex_v2(i, h);
        if (rc != NVML_SUCCESS) {
          nvmlShutdown();
          return unavailable("nvmlDeviceGetHandleByIndex(" + i + ") failed: " + error(rc));
        }
        handles.add(h);
        buf.zero();
        names.add(nvmlDeviceGetName(h, buf, 96) == NVML_SUCCESS ? buf.getString() : "gpu" + i);
      }
      if (handles.isEmpty()) {
        nvmlShutdown();
        return unavailable("NVML reports no GPU");
      }
      LOG.info("NVML: driver {}, CUDA driver API {}, GPUs {}", driver, cudaVersion(cuda), names);
      return new GpuTelemetry(null, driver, cuda, List.copyOf(handles), List.copyOf(names));
    }
  }

  private static GpuTelemetry unavailable(String reason) {
    LOG.info("no GPU telemetry: {}", reason);
    return new GpuTelemetry(reason, null, 0, List.of(), List.of());
  }

  private static String error(int rc) {
    BytePointer s = nvmlErrorString(rc);
    return (s == null ? "error" : s.getString()) + " (" + rc + ")";
  }

  /** {@code 13010} as {@code 13.1}; {@code unknown} for 0. */
  static String cudaVersion(int v) {
    return v <= 0 ? "unknown" : (v / 1000) + "." + (v % 1000) / 10;
  }

  /** True when NVML answered and found at least one GPU. */
  public boolean available() {
    return unavailableReason == null;
  }

  /** Why there is no telemetry (null when {@link #available()}). */
  public String unavailableReason() {
    return unavailableReason;
  }

  /** The driver version NVML reports, or null without NVML. */
  public String driverVersion() {
    return driverVersion;
  }

  /** The highest CUDA version the driver supports (e.g. {@code 13.1}), or {@code unknown}. */
  public String cudaDriverVersion() {
    return cudaVersion(cudaDriverVersion);
  }

  /** Device names by index. */
  public List<String> deviceNames() {
    return names;
  }

  /** A reading of every device; empty without NVML. Devices that fail to answer are skipped. */
  public synchronized List<DeviceSample> sample() {
    List<DeviceSample> out = new ArrayList<>(handles.size());
    for (int i = 0; i < handles.size(); i++) {
      try (nvmlMemory_t mem = new nvmlMemory_t();
          nvmlUtilization_t util = new nvmlUtilization_t()) {
        if (nvmlDeviceGetMemoryInfo(handles.get(i), mem) != NVML_SUCCESS) {
          continue;
        }
        double busy =
            nvmlDeviceGetUtilizationRates(handles.get(i), util) == NVML_SUCCESS
                ? util.gpu() / 100.0
                : Double.NaN;
        out.add(new DeviceSample(i, names.get(i), mem.total(), mem.used(), busy));
      }
    }
    return out;
  }

  @Override
  public synchronized void close() {
    if (available()) {
      nvmlShutdown();
    }
  }
}
