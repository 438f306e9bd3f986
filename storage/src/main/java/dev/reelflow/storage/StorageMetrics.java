package dev.reelflow.storage;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.Locale;

/**
 * Prometheus metrics of every ArtifactStore in the process, registered once in the default registry
 * (the worker's metrics endpoint exposes them):
 *
 * <ul>
 *   <li>{@code reelflow_storage_requests_total{operation, outcome}}: outcome {@code ok}, {@code
 *       retry} (a retryable failure that will be retried), {@code failed}.
 *   <li>{@code reelflow_storage_uploaded_bytes_total}: bytes of completed uploads.
 *   <li>{@code reelflow_storage_upload_duration_seconds{kind}}: whole uploads, kind {@code single}
 *       or {@code multipart}.
 * </ul>
 */
final class StorageMetrics {
  static final Counter REQUESTS =
      Counter.builder()
          .name("reelflow_storage_requests_total")
          .help("S3 requests of ArtifactStore by operation and outcome (ok, retry, failed)")
          .labelNames("operation", "outcome")
          .register();

  static final Counter UPLOADED_BYTES =
      Counter.builder()
          .name("reelflow_storage_uploaded_bytes_total")
          .help("Bytes of completed ArtifactStore uploads")
          .register();

  static final Histogram UPLOAD_SECONDS =
      Histogram.builder()
          .name("reelflow_storage_upload_duration_seconds")
          .help("Duration of whole ArtifactStore uploads, retries included")
          .unit(Unit.SECONDS)
          .labelNames("kind")
          .classicExponentialUpperBounds(0.01, 2, 16)
          .register();

  private StorageMetrics() {}

  /** "upload part 7" -> "upload_part": one label value per kind of request. */
  static String operationLabel(String operation) {
    return operation.replaceAll("\\s+\\d+$", "").trim().replace(' ', '_').toLowerCase(Locale.ROOT);
  }

  static void request(String operation, String outcome) {
    REQUESTS.labelValues(operationLabel(operation), outcome).inc();
  }

  static void upload(String kind, long bytes, long startNanos) {
    UPLOADED_BYTES.inc(bytes);
    UPLOAD_SECONDS.labelValues(kind).observe((System.nanoTime() - startNanos) / 1e9);
  }
}
