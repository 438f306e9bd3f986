package dev.reelflow.worker;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the worker's device and its memory: the first NVIDIA GPU through {@code nvidia-smi} where
 * one answers, else the CPU with half the host memory as its budget (the other half is for the JVM,
 * the encoder and the OS).
 */
final class DeviceProbe {
  private static final Logger LOG = LoggerFactory.getLogger(DeviceProbe.class);

  /** Device name and memory budget in bytes. */
  record Device(String name, long memoryBytes, boolean gpu) {}

  private DeviceProbe() {}

  static Device resolve(WorkerConfig config) {
    String name = config.deviceName();
    long configured = config.deviceMemoryBytes();
    if ("cpu".equalsIgnoreCase(name)) {
      return new Device("cpu", configured > 0 ? configured : hostMemory() / 2, false);
    }
    Device gpu = probeGpu();
    if ("auto".equalsIgnoreCase(name)) {
      if (gpu != null) {
        return new Device(gpu.name(), configured > 0 ? configured : gpu.memoryBytes(), true);
      }
      return new Device("cpu", configured > 0 ? configured : hostMemory() / 2, false);
    }
    // A named device (e.g. for a site without nvidia-smi): trust the configuration.
    long mem = configured > 0 ? configured : gpu != null ? gpu.memoryBytes() : hostMemory() / 2;
    return new Device(name, mem, gpu != null);
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

  /** Total memory and name of GPU 0, or null when no GPU answers. */
  static Device probeGpu() {
    List<String> out = nvidiaSmi("--query-gpu=name,memory.total", "--format=csv,noheader,nounits");
    if (out == null || out.isEmpty()) {
      return null;
    }
    String[] parts = out.get(0).split(",");
    if (parts.length < 2) {
      return null;
    }
    try {
      long mib = Long.parseLong(parts[1].trim());
      return new Device(parts[0].trim(), mib * 1024 * 1024, true);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Memory in use on GPU 0 in bytes, where nvidia-smi answers. */
  static OptionalLong gpuMemoryUsed() {
    List<String> out = nvidiaSmi("--query-gpu=memory.used", "--format=csv,noheader,nounits");
    if (out == null || out.isEmpty()) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(out.get(0).trim()) * 1024 * 1024);
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  private static List<String> nvidiaSmi(String... args) {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "nvidia-smi";
    System.arraycopy(args, 0, cmd, 1, args.length);
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 ? text.lines().filter(l -> !l.isBlank()).toList() : null;
    } catch (IOException e) {
      return null; // no nvidia-smi: no GPU
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      LOG.debug("interrupted while probing the GPU");
      return null;
    }
  }
}
