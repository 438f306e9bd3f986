package dev.reelflow.worker;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Prometheus metrics of one worker process: tasks by outcome, step time, busy fraction per worker,
 * device memory budget and GPU memory in use (where nvidia-smi answers).
 */
final class WorkerMetrics {

  /** Busy time accounting of one worker. */
  static final class Busy {
    final String workerId;
    private final long startedNanos = System.nanoTime();
    private final AtomicLong busyNanos = new AtomicLong();
    private volatile long busySince = -1;

    Busy(String workerId) {
      this.workerId = workerId;
    }

    void start() {
      busySince = System.nanoTime();
    }

    void stop() {
      long s = busySince;
      if (s >= 0) {
        busyNanos.addAndGet(System.nanoTime() - s);
        busySince = -1;
      }
    }

    double fraction() {
      long now = System.nanoTime();
      long s = busySince;
      long busy = busyNanos.get() + (s >= 0 ? now - s : 0);
      long total = now - startedNanos;
      return total <= 0 ? 0 : Math.min(1.0, busy / (double) total);
    }
  }

  final PrometheusRegistry registry = new PrometheusRegistry();
  final Counter tasks;
  final Histogram stepSeconds;
  final Histogram taskSeconds;
  private final List<Busy> busy = new CopyOnWriteArrayList<>();

  WorkerMetrics(String pool, long deviceMemoryBytes, boolean gpu) {
    tasks =
        Counter.builder()
            .name("reelflow_worker_tasks_total")
            .help(
                "Tasks by outcome: completed, failed, cancelled, drained, duplicate, fenced, refused")
            .labelNames("pool", "outcome")
            .register(registry);
    stepSeconds =
        Histogram.builder()
            .name("reelflow_worker_step_seconds")
            .help("Time of one engine step (denoising step, tile or frame batch)")
            .labelNames("pool", "phase")
            .classicUpperBounds(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
            .register(registry);
    taskSeconds =
        Histogram.builder()
            .name("reelflow_worker_task_seconds")
            .help("Wall time of a task from STARTED to its final event")
            .labelNames("pool", "outcome")
            .classicUpperBounds(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
            .register(registry);
    GaugeWithCallback.builder()
        .name("reelflow_worker_busy_fraction")
        .help("Share of its lifetime a worker spent running tasks")
        .labelNames("pool", "worker")
        .callback(
            cb -> {
              for (Busy b : busy) {
                cb.call(b.fraction(), pool, b.workerId);
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("reelflow_worker_device_memory_budget_bytes")
        .help("Device memory budget the worker plans tasks against")
        .callback(cb -> cb.call(deviceMemoryBytes))
        .register(registry);
    if (gpu) {
      GaugeWithCallback.builder()
          .name("reelflow_worker_gpu_memory_used_bytes")
          .help("GPU memory in use (nvidia-smi)")
          .callback(
              cb -> {
                OptionalLong used = DeviceProbe.gpuMemoryUsed();
                if (used.isPresent()) {
                  cb.call(used.getAsLong());
                }
              })
          .register(registry);
    }
  }

  Busy busy(String workerId) {
    Busy b = new Busy(workerId);
    busy.add(b);
    return b;
  }
}
