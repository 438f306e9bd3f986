package dev.reelflow.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * CPU time of this JVM's threads over a window (ThreadMXBean), by thread name. On a shared machine
 * the wall-clock rates move with the load; the CPU time a thread spent per unit of work moves much
 * less, so the scale suite reports the orchestrator's CPU per dispatch beside its rate.
 */
final class ThreadCpu {
  private final ThreadMXBean mx = ManagementFactory.getThreadMXBean();
  private final Map<Long, Long> start = new HashMap<>();

  /** Starts the window: every live thread's CPU time so far. */
  ThreadCpu() {
    if (mx.isThreadCpuTimeSupported() && !mx.isThreadCpuTimeEnabled()) {
      mx.setThreadCpuTimeEnabled(true);
    }
    for (long id : mx.getAllThreadIds()) {
      long t = mx.getThreadCpuTime(id);
      if (t >= 0) {
        start.put(id, t);
      }
    }
  }

  /**
   * CPU nanoseconds since the window started, per thread name with digits folded to {@code #} (so a
   * pool's threads add up), largest first. Threads that ended inside the window are missing.
   */
  Map<String, Long> byName() {
    Map<String, Long> out = new HashMap<>();
    for (long id : mx.getAllThreadIds()) {
      long t = mx.getThreadCpuTime(id);
      ThreadInfo info = mx.getThreadInfo(id);
      if (t < 0 || info == null) {
        continue;
      }
      String name = info.getThreadName().replaceAll("[0-9]+", "#");
      out.merge(name, t - start.getOrDefault(id, 0L), Long::sum);
    }
    Map<String, Long> sorted = new LinkedHashMap<>();
    out.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEachOrdered(e -> sorted.put(e.getKey(), e.getValue()));
    return sorted;
  }

  /** Sum of {@link #byName()} over the names that match. */
  static long sum(Map<String, Long> byName, Predicate<String> names) {
    return byName.entrySet().stream()
        .filter(e -> names.test(e.getKey()))
        .mapToLong(Map.Entry::getValue)
        .sum();
  }
}
