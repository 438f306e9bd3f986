package dev.reelflow.worker;

import dev.reelflow.worker.spi.EngineStatus;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Prometheus metrics of one worker process: tasks by outcome, step time, busy fraction per worker,
 * the engine's state per worker, device memory budget, GPU memory and utilization per device
 * (through NVML; only where a GPU answers), and the resident engine's protocol messages, restarts
 * and model loads.
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

  /** One worker's engine status, sampled on scrape. */
  private record EngineGauge(String workerId, Supplier<EngineStatus> status) {}

  final PrometheusRegistry registry = new PrometheusRegistry();
  final String pool;
  final Counter tasks;
  final Counter residentMessages;
  final Counter residentRestarts;
  final Histogram residentLoadSeconds;
  private final List<EngineGauge> engines = new CopyOnWriteArrayList<>();
  final Histogram stepSeconds;
  final Histogram taskSeconds;
  private final List<Busy> busy = new CopyOnWriteArrayList<>();

  WorkerMetrics(String pool, long deviceMemoryBytes, GpuTelemetry gpus) {
    this.pool = pool;
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
        .name("reelflow_worker_engine_state")
        .help(
            "1 for the state each worker's engine is in (READY, LOADING, BUSY, UNAVAILABLE), 0 for"
                + " the others")
        .labelNames("pool", "worker", "state")
        .callback(
            cb -> {
              for (EngineGauge g : engines) {
                EngineStatus.State now = g.status().get().state();
                for (EngineStatus.State st : EngineStatus.State.values()) {
                  cb.call(st == now ? 1 : 0, pool, g.workerId(), st.name());
                }
              }
            })
        .register(registry);
    residentMessages =
        Counter.builder()
            .name("reelflow_worker_resident_messages_total")
            .help(
                "Resident-engine protocol traffic by direction (out: to the program; in: from it;"
                    + " stderr: lines it wrote there) and message type")
            .labelNames("pool", "worker", "direction", "type")
            .register(registry);
    residentRestarts =
        Counter.builder()
            .name("reelflow_worker_resident_restarts_total")
            .help(
                "Resident program starts after the first, by reason: crash_idle, crash_task,"
                    + " start_failed, load_timeout, cancel_timeout, task_timeout")
            .labelNames("pool", "worker", "reason")
            .register(registry);
    residentLoadSeconds =
        Histogram.builder()
            .name("reelflow_worker_resident_load_seconds")
            .help("Time from starting the resident program to its ready message (model load)")
            .labelNames("pool", "worker")
            .classicUpperBounds(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
            .register(registry);
    GaugeWithCallback.builder()
        .name("reelflow_worker_device_memory_budget_bytes")
        .help("Device memory budget the worker plans tasks against")
        .callback(cb -> cb.call(deviceMemoryBytes))
        .register(registry);
    GaugeWithCallback.builder()
        .name(GpuTelemetry.MEMORY_USED)
        .help("GPU memory in use per device (NVML)")
        .labelNames(GpuTelemetry.LABELS.toArray(String[]::new))
        .callback(cb -> gpus.sample().forEach(d -> cb.call(d.memoryUsedBytes(), id(d), d.name())))
        .register(registry);
    GaugeWithCallback.builder()
        .name(GpuTelemetry.MEMORY_TOTAL)
        .help("GPU memory per device (NVML)")
        .labelNames(GpuTelemetry.LABELS.toArray(String[]::new))
        .callback(cb -> gpus.sample().forEach(d -> cb.call(d.memoryTotalBytes(), id(d), d.name())))
        .register(registry);
    GaugeWithCallback.builder()
        .name(GpuTelemetry.UTILIZATION)
        .help("Share of the last sample period a kernel ran on the GPU, per device (NVML)")
        .labelNames(GpuTelemetry.LABELS.toArray(String[]::new))
        .callback(
            cb ->
                gpus.sample().stream()
                    .filter(d -> !Double.isNaN(d.utilization()))
                    .forEach(d -> cb.call(d.utilization(), id(d), d.name())))
        .register(registry);
  }

  private static String id(GpuTelemetry.DeviceSample d) {
    return Integer.toString(d.index());
  }

  /** Samples a worker's engine status on every scrape. */
  void engine(String workerId, Supplier<EngineStatus> status) {
    engines.add(new EngineGauge(workerId, status));
  }

  Busy busy(String workerId) {
    Busy b = new Busy(workerId);
    busy.add(b);
    return b;
  }
}
