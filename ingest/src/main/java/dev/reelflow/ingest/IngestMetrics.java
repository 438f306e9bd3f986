package dev.reelflow.ingest;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/** Prometheus metrics of one ingest server (its own registry, so tests can run several). */
final class IngestMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Counter requests =
      Counter.builder()
          .name("reelflow_ingest_requests_total")
          .help("HTTP requests by route template, method and status code")
          .labelNames("route", "method", "code")
          .register(registry);
  private final Histogram publishSeconds =
      Histogram.builder()
          .name("reelflow_ingest_publish_seconds")
          .help(
              "Time from handing records to Kafka until the broker acknowledged them (a batch:"
                  + " from the start of its validation, which its sending overlaps, to its commit)")
          .labelNames("kind")
          .classicUpperBounds(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30)
          .register(registry);
  private final Histogram batchRows =
      Histogram.builder()
          .name("reelflow_ingest_batch_rows")
          .help("Rows per accepted batch")
          .classicUpperBounds(1, 10, 100, 1000, 5000, 10_000, 25_000, 50_000, 100_000)
          .register(registry);
  private final Counter accepted =
      Counter.builder()
          .name("reelflow_ingest_renders_accepted_total")
          .help("Renders published to render.requests")
          .labelNames("source")
          .register(registry);
  private final Counter webhooks =
      Counter.builder()
          .name("reelflow_ingest_webhook_deliveries_total")
          .help(
              "Webhook delivery attempts by outcome: delivered, retried, gave_up (retries"
                  + " exhausted), refused (SSRF rules at connect time), dead_lettered")
          .labelNames("outcome")
          .register(registry);
  private final Gauge viewSize =
      Gauge.builder()
          .name("reelflow_ingest_status_view_renders")
          .help("Renders held in the status view")
          .register(registry);

  private final Gauge webhooksPending =
      Gauge.builder()
          .name("reelflow_ingest_webhooks_pending")
          .help("Webhook deliveries this instance owns that are not yet delivered nor given up")
          .register(registry);

  void request(String route, String method, int code) {
    requests.labelValues(route, method, Integer.toString(code)).inc();
  }

  void published(String kind, long nanos) {
    publishSeconds.labelValues(kind).observe(nanos / 1e9);
  }

  void batch(int rows) {
    batchRows.observe(rows);
    accepted.labelValues("batch").inc(rows);
  }

  void single() {
    accepted.labelValues("single").inc();
  }

  void webhook(String outcome) {
    webhooks.labelValues(outcome).inc();
  }

  void viewSize(int n) {
    viewSize.set(n);
  }

  void webhooksPending(int n) {
    webhooksPending.set(n);
  }

  byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      new PrometheusTextFormatWriter(false).write(out, registry.scrape());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }
}
