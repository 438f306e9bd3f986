package dev.reelflow.ingest;

import dev.reelflow.schemas.AsyncApiDocument;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The unauthenticated routes for operators and tools: health, readiness, metrics and the API
 * documents; apart from the render routes because they answer about the process, not a tenant.
 */
final class OperationalRoutes {
  private final IngestServices services;
  private final BooleanSupplier statusReplayed;
  private final IntSupplier pendingWebhooks;

  /**
   * @param statusReplayed whether the status view has replayed render.status
   * @param pendingWebhooks webhook deliveries not yet done (a metric)
   */
  OperationalRoutes(
      IngestServices services, BooleanSupplier statusReplayed, IntSupplier pendingWebhooks) {
    this.services = services;
    this.statusReplayed = statusReplayed;
    this.pendingWebhooks = pendingWebhooks;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/healthz", (ctx, t) -> text(ctx, 200, "{\"status\":\"ok\"}"), false),
        new Route("GET", "/readyz", this::ready, false),
        new Route("GET", "/metrics", this::metrics, false),
        new Route("GET", "/openapi.json", this::openapi, false),
        new Route("GET", "/asyncapi.json", this::asyncapi, false));
  }

  private static void text(Context ctx, int status, String jsonText) {
    ctx.status(status).contentType("application/json").result(jsonText);
  }

  private void ready(Context ctx, Tenant none) {
    boolean kafka = services.publisher().reachable(Duration.ofSeconds(2));
    boolean replayed = statusReplayed.getAsBoolean();
    if (kafka && replayed) {
      text(ctx, 200, "{\"status\":\"ready\"}");
    } else {
      throw ApiException.unavailable(
          !kafka ? "Kafka is not reachable" : "The status view is still replaying render.status",
          5);
    }
  }

  private void metrics(Context ctx, Tenant none) {
    services.metrics().viewSize(services.statuses().size());
    services.metrics().webhooksPending(pendingWebhooks.getAsInt());
    ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(services.metrics().scrape());
  }

  private void openapi(Context ctx, Tenant none) throws IOException {
    try (InputStream in = IngestServer.class.getResourceAsStream("openapi.json")) {
      if (in == null) {
        throw ApiException.notFound("openapi.json is missing from the build");
      }
      ctx.contentType("application/json").result(in.readAllBytes());
    }
  }

  /** The event interface (AsyncAPI 3), as the schemas module's build generated it. */
  private void asyncapi(Context ctx, Tenant none) {
    byte[] doc =
        AsyncApiDocument.generated()
            .orElseThrow(() -> ApiException.notFound("asyncapi.json is missing from the build"));
    ctx.contentType("application/json").result(doc);
  }
}
