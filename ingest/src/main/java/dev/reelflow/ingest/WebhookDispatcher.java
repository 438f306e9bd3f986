package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.avro.RenderStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts a render's status to its {@code callbackUrl} on every state change (not on progress),
 * signed with HMAC-SHA256 over the exact body bytes with the tenant's webhook secret:
 *
 * <ul>
 *   <li>{@code X-ReelFlow-Signature: sha256=<hex>}
 *   <li>{@code X-ReelFlow-Delivery: <requestId>.<STATE>.<attempts>}: the same on every retry and on
 *       every ingest instance, so receivers can dedupe
 *   <li>{@code X-ReelFlow-Event: render.status}
 * </ul>
 *
 * A delivery that does not get a 2xx is retried with exponential backoff (initial delay doubling up
 * to the maximum) until {@code ingest.webhook.retry.for} (2 h by default) has passed. Pending
 * deliveries are held in memory, bounded by {@code ingest.webhook.queue.capacity}: a restart loses
 * the retries in progress (states reached while ingest was down are not re-sent either).
 */
final class WebhookDispatcher implements StatusView.Listener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookDispatcher.class);
  static final String SIGNATURE = "X-ReelFlow-Signature";
  static final String DELIVERY = "X-ReelFlow-Delivery";
  static final String EVENT = "X-ReelFlow-Event";

  private final ApiKeys keys;
  private final RenderJson renderJson;
  private final ObjectMapper json;
  private final IngestMetrics metrics;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration retryFor;
  private final Duration timeout;
  private final int capacity;
  private final AtomicInteger pending = new AtomicInteger();
  private final ScheduledExecutorService timer;
  private final HttpClient http;

  WebhookDispatcher(
      IngestConfig config,
      ApiKeys keys,
      RenderJson renderJson,
      ObjectMapper json,
      IngestMetrics metrics) {
    this.keys = keys;
    this.renderJson = renderJson;
    this.json = json;
    this.metrics = metrics;
    this.initialBackoff = config.duration(IngestConfig.WEBHOOK_INITIAL_BACKOFF);
    this.maxBackoff = config.duration(IngestConfig.WEBHOOK_MAX_BACKOFF);
    this.retryFor = config.duration(IngestConfig.WEBHOOK_RETRY_FOR);
    this.timeout = config.duration(IngestConfig.WEBHOOK_TIMEOUT);
    this.capacity = config.intValue(IngestConfig.WEBHOOK_QUEUE_CAPACITY);
    this.timer =
        Executors.newScheduledThreadPool(
            1,
            r -> {
              Thread t = new Thread(r, "reelflow-webhooks");
              t.setDaemon(true);
              return t;
            });
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  @Override
  public void changed(RenderStatus previous, RenderStatus current, boolean live) {
    if (!live || current.getCallbackUrl() == null || current.getVersion() < 0) {
      return;
    }
    boolean stateChanged =
        previous == null || previous.getVersion() < 0 || previous.getState() != current.getState();
    if (!stateChanged) {
      return;
    }
    if (pending.incrementAndGet() > capacity) {
      pending.decrementAndGet();
      metrics.webhook("dropped");
      LOG.error(
          "Webhook queue full ({} pending): dropping the {} delivery of {}",
          capacity,
          current.getState(),
          current.getRequestId());
      return;
    }
    String deliveryId =
        current.getRequestId() + "." + current.getState().name() + "." + current.getAttempts();
    ObjectNode body = json.createObjectNode();
    body.put("event", "render.status");
    body.put("deliveryId", deliveryId);
    body.set("render", renderJson.status(current, null));
    byte[] bytes;
    try {
      bytes = json.writeValueAsBytes(body);
    } catch (Exception e) {
      pending.decrementAndGet();
      throw new IllegalStateException(e);
    }
    Delivery d =
        new Delivery(
            current.getCallbackUrl(), deliveryId, current.getTenant(), bytes, System.nanoTime());
    timer.execute(() -> attempt(d, 1));
  }

  private record Delivery(String url, String id, String tenant, byte[] body, long firstNanos) {}

  private void attempt(Delivery d, int n) {
    HttpRequest.Builder rb;
    try {
      rb =
          HttpRequest.newBuilder(URI.create(d.url()))
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .header("User-Agent", "ReelFlow-Webhooks/1")
              .header(DELIVERY, d.id())
              .header(EVENT, "render.status")
              .POST(HttpRequest.BodyPublishers.ofByteArray(d.body()));
    } catch (IllegalArgumentException e) {
      pending.decrementAndGet();
      metrics.webhook("invalid_url");
      LOG.warn("Webhook URL of {} is unusable: {}", d.id(), e.getMessage());
      return;
    }
    String secret = keys.tenant(d.tenant()).map(Tenant::webhookSecret).orElse("");
    if (!secret.isEmpty()) {
      rb.header(SIGNATURE, "sha256=" + sign(secret, d.body()));
    } else {
      LOG.warn("Tenant {} has no webhook secret: delivery {} is unsigned", d.tenant(), d.id());
    }
    http.sendAsync(rb.build(), HttpResponse.BodyHandlers.discarding())
        .whenComplete(
            (resp, err) -> {
              if (err == null && resp.statusCode() / 100 == 2) {
                pending.decrementAndGet();
                metrics.webhook("delivered");
                return;
              }
              String why = err != null ? err.toString() : "HTTP " + resp.statusCode();
              Duration delay = backoff(n);
              long elapsed = System.nanoTime() - d.firstNanos();
              if (Duration.ofNanos(elapsed).plus(delay).compareTo(retryFor) > 0) {
                pending.decrementAndGet();
                metrics.webhook("gave_up");
                LOG.warn("Giving up webhook {} after {} attempts: {}", d.id(), n, why);
                return;
              }
              metrics.webhook("retried");
              LOG.debug("Webhook {} attempt {} failed ({}); retry in {}", d.id(), n, why, delay);
              try {
                timer.schedule(() -> attempt(d, n + 1), delay.toMillis(), TimeUnit.MILLISECONDS);
              } catch (java.util.concurrent.RejectedExecutionException closed) {
                pending.decrementAndGet();
              }
            });
  }

  /** initial * 2^(n-1), capped at the maximum. */
  Duration backoff(int attempt) {
    long ms = initialBackoff.toMillis();
    for (int i = 1; i < attempt && ms < maxBackoff.toMillis(); i++) {
      ms *= 2;
    }
    return Duration.ofMillis(Math.min(ms, maxBackoff.toMillis()));
  }

  static String sign(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(body));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
    }
  }

  int pending() {
    return pending.get();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
