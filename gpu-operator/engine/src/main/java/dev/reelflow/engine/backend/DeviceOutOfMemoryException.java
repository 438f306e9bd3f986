package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The device (GPU memory, or host memory for a CPU device) could not hold an allocation. The worker
 * treats it as a permanent failure of the task (the same task would fail again on the same device)
 * and stays up: nothing is left allocated by the failed operation.
 */
@EngineApi
public final class DeviceOutOfMemoryException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private static final Pattern TRIED =
      Pattern.compile("[Tt]ried to allocate ([0-9.]+) ?([KMGT]?i?B|bytes)");
  private static final Pattern FREE =
      Pattern.compile("of which ([0-9.]+) ?([KMGT]?i?B|bytes) (is )?free");

  private final String device;
  private final long requestedBytes;
  private final long freeBytes;

  public DeviceOutOfMemoryException(
      String device, long requestedBytes, long freeBytes, String detail, Throwable cause) {
    super(message(device, requestedBytes, freeBytes, detail), cause);
    this.device = device;
    this.requestedBytes = requestedBytes;
    this.freeBytes = freeBytes;
  }

  private static String message(String device, long requested, long free, String detail) {
    StringBuilder m = new StringBuilder("out of memory on ").append(device);
    m.append(": requested ").append(requested >= 0 ? human(requested) : "an unknown amount");
    m.append(", free ").append(free >= 0 ? human(free) : "unknown");
    m.append(
        ". Use a smaller resolution or frame count, enable block offload, or a device with more"
            + " memory");
    if (detail != null && !detail.isBlank()) {
      m.append(" (").append(detail).append(')');
    }
    return m.toString();
  }

  /** The device, e.g. {@code cuda:0}. */
  public String device() {
    return device;
  }

  /** Bytes the failed allocation asked for, or -1 when the library did not say. */
  public long requestedBytes() {
    return requestedBytes;
  }

  /** Free bytes on the device when it failed, or -1 when unknown. */
  public long freeBytes() {
    return freeBytes;
  }

  /**
   * Whether a libtorch error message reports an exhausted allocator (CUDA caching allocator or the
   * default CPU allocator).
   */
  static boolean isOutOfMemory(String message) {
    return message != null
        && (message.contains("out of memory")
            || message.contains("can't allocate memory")
            || message.contains("OutOfMemoryError"));
  }

  /** Builds the exception from a libtorch message, reading the byte counts it names. */
  static DeviceOutOfMemoryException fromTorch(String device, String message, Throwable cause) {
    long requested = parse(TRIED, message);
    if (requested < 0) {
      Matcher m = Pattern.compile("allocate (\\d+) bytes").matcher(message);
      requested = m.find() ? Long.parseLong(m.group(1)) : -1;
    }
    String first = message.lines().findFirst().orElse("").trim();
    return new DeviceOutOfMemoryException(device, requested, parse(FREE, message), first, cause);
  }

  private static long parse(Pattern p, String s) {
    Matcher m = p.matcher(s);
    if (!m.find()) {
      return -1;
    }
    double v = Double.parseDouble(m.group(1));
    long unit =
        switch (m.group(2)) {
          case "KiB", "KB" -> 1L << 10;
          case "MiB", "MB" -> 1L << 20;
          case "GiB", "GB" -> 1L << 30;
          case "TiB", "TB" -> 1L << 40;
          default -> 1L;
        };
    return (long) (v * unit);
  }

  static String human(long bytes) {
    if (bytes >= 1L << 30) {
      return String.format(java.util.Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
    if (bytes >= 1L << 20) {
      return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
    }
    return bytes + " bytes";
  }
}
