package dev.reelflow.worker;

import com.sun.management.OperatingSystemMXBean;
import dev.reelflow.engine.backend.BackendSpec;
import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * Finds the worker's device and its memory: the first NVIDIA GPU that NVML reports where the driver
 * answers, else the CPU with half the host memory as its budget (the other half is for the JVM, the
 * encoder and the OS).
 */
final class DeviceProbe {

  /** Device name and memory budget in bytes. */
  record Device(String name, long memoryBytes, boolean gpu) {}

  private DeviceProbe() {}

  static Device resolve(WorkerConfig config, GpuTelemetry telemetry) {
    String name = config.deviceName();
    long configured = config.deviceMemoryBytes();
    if ("cpu".equalsIgnoreCase(name)) {
      return new Device("cpu", configured > 0 ? configured : hostMemory() / 2, false);
    }
    Device gpu = firstGpu(telemetry);
    if ("auto".equalsIgnoreCase(name)) {
      if (gpu != null) {
        return new Device(gpu.name(), configured > 0 ? configured : gpu.memoryBytes(), true);
      }
      return new Device("cpu", configured > 0 ? configured : hostMemory() / 2, false);
    }
    // A named device (e.g. for a site without NVML): trust the configuration.
    long mem = configured > 0 ? configured : gpu != null ? gpu.memoryBytes() : hostMemory() / 2;
    return new Device(name, mem, gpu != null);
  }

  /**
   * The device of one worker slot: for a {@code cuda:N} backend GPU N as NVML reports it (the
   * configured budget wins), otherwise the process's device.
   */
  static Device forSlot(
      Device process, BackendSpec backend, GpuTelemetry telemetry, WorkerConfig config) {
    if (!backend.isCuda()) {
      return process;
    }
    long configured = config.deviceMemoryBytes();
    for (GpuTelemetry.DeviceSample d : telemetry.sample()) {
      if (d.index() == backend.deviceIndex()) {
        return new Device(d.name(), configured > 0 ? configured : d.memoryTotalBytes(), true);
      }
    }
    return process; // NVML does not see it; opening the backend says what is wrong
  }

  static long hostMemory() {
    try {
      OperatingSystemMXBean os =
          (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      return os.getTotalMemorySize();
    } catch (ClassCastException e) {
      return Runtime.getRuntime().maxMemory();
    }
  }

  /** Name and total memory of GPU 0, or null when NVML finds no GPU. */
  private static Device firstGpu(GpuTelemetry telemetry) {
    List<GpuTelemetry.DeviceSample> devices = telemetry.sample();
    if (devices.isEmpty()) {
      return null;
    }
    GpuTelemetry.DeviceSample d = devices.get(0);
    return new Device(d.name(), d.memoryTotalBytes(), true);
  }
}
