package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.compression.CompressionStrategy;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.http.staticfiles.Location;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Configures Javalin for the ingest API: request limits, the slow-client guard, the console, the
 * routes behind authentication and tenant limits, and problem+json answers for every failure; the
 * HTTP plumbing apart from what the routes do.
 */
final class JavalinWiring implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(JavalinWiring.class);
  static final String PROBLEM_JSON = "application/problem+json";
  private static final String ROUTE_ATTR = "reelflow.route";

  private final IngestConfig config;
  private final ObjectMapper json;
  private final List<Route> routes;
  private final ApiKeys keys;
  private final IngestServices services;
  private SlowClientGuard guard;

  JavalinWiring(
      IngestConfig config,
      ObjectMapper json,
      List<Route> routes,
      ApiKeys keys,
      IngestServices services) {
    this.config = config;
    this.json = json;
    this.routes = routes;
    this.keys = keys;
    this.services = services;
  }

  /** Stops the slow-client guard's timer. */
  @Override
  public void close() {
    if (guard != null) {
      guard.close();
    }
  }

  void configure(JavalinConfig cfg) {
    cfg.startup.showJavalinBanner = false;
    cfg.http.prefer405over404 = true;
    cfg.http.compressionStrategy = CompressionStrategy.NONE;
    cfg.http.maxRequestSize =
        Math.max(
            config.longValue(IngestConfig.BATCH_MAX_BYTES),
            config.longValue(IngestConfig.BODY_MAX_BYTES));
    cfg.concurrency.useVirtualThreads = true;
    guard =
        new SlowClientGuard(
            config.duration(IngestConfig.HTTP_HEADER_TIMEOUT),
            config.duration(IngestConfig.HTTP_IDLE_TIMEOUT));
    cfg.jetty.modifyServer(guard::install);
    cfg.router.ignoreTrailingSlashes = true;
    if (config.booleanValue(IngestConfig.CONSOLE_ENABLED)
        && IngestServer.class.getResource("/console") != null) {
      // The web console (issue 10) ships as classpath resources under /console.
      cfg.staticFiles.add(
          sf -> {
            sf.hostedPath = "/console";
            sf.directory = "/console";
            sf.location = Location.CLASSPATH;
          });
    }
    for (Route r : routes) {
      cfg.routes.addHttpHandler(
          HandlerType.findOrCreate(r.method()), r.path(), ctx -> handle(ctx, r));
    }
    cfg.routes.exception(ApiException.class, (e, ctx) -> problem(ctx, json, e));
    cfg.routes.exception(
        HttpResponseException.class,
        (e, ctx) ->
            problem(
                ctx,
                json,
                new ApiException(e.getStatus(), titleOf(e.getStatus()), e.getMessage())));
    cfg.routes.exception(
        Exception.class,
        (e, ctx) -> {
          LOG.error("Unexpected failure on {} {}", ctx.method(), ctx.path(), e);
          problem(
              ctx,
              json,
              new ApiException(
                  500, "Internal error", "The request failed unexpectedly; it is logged"));
        });
    for (int code : new int[] {404, 405}) {
      cfg.routes.error(
          code,
          ctx -> {
            String ct = ctx.res().getContentType();
            if (ct == null || !ct.startsWith(PROBLEM_JSON)) {
              problem(
                  ctx,
                  json,
                  new ApiException(
                      code,
                      titleOf(code),
                      code == 404
                          ? "No route " + ctx.method() + " " + RenderValidation.clip(ctx.path())
                          : "Method "
                              + ctx.method()
                              + " is not allowed on "
                              + RenderValidation.clip(ctx.path())));
            }
          });
    }
    cfg.requestLogger.http(
        (ctx, ms) -> {
          Object route = ctx.attribute(ROUTE_ATTR);
          services
              .metrics()
              .request(
                  route == null ? "unmatched" : route.toString(),
                  ctx.method().name(),
                  ctx.status().getCode());
        });
  }

  private void handle(Context ctx, Route r) throws Exception {
    ctx.attribute(ROUTE_ATTR, r.path());
    ctx.attribute(
        IngestServer.BODY_RATE_ATTR,
        new RequestBodies.MinRate(
            config.longValue(IngestConfig.HTTP_MIN_BODY_RATE),
            config.duration(IngestConfig.HTTP_HEADER_TIMEOUT)));
    Tenant tenant = null;
    if (r.authenticated()) {
      tenant = authenticate(ctx);
      services.limits().acquire(tenant);
    }
    r.handler().handle(ctx, tenant);
  }

  private Tenant authenticate(Context ctx) {
    String h = ctx.header("Authorization");
    if (h == null || h.isBlank()) {
      throw ApiException.unauthorized("Send Authorization: Bearer <api key>");
    }
    if (!h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw ApiException.unauthorized("Only Bearer API keys are accepted");
    }
    return keys.authenticate(h.substring(7).trim())
        .orElseThrow(() -> ApiException.unauthorized("The API key is not valid"));
  }

  static String titleOf(int code) {
    return switch (code) {
      case 400 -> "Malformed request";
      case 401 -> "Unauthorized";
      case 404 -> "Not found";
      case 405 -> "Method not allowed";
      case 409 -> "Conflict";
      case 408 -> "Request timeout";
      case 413 -> "Content too large";
      case 415 -> "Unsupported media type";
      case 422 -> "Validation failed";
      case 429 -> "Too many requests";
      case 503 -> "Service unavailable";
      default -> code >= 500 ? "Internal error" : "Request failed";
    };
  }

  private static void problem(Context ctx, ObjectMapper json, ApiException e) {
    ObjectNode n = json.createObjectNode();
    n.put("type", "about:blank");
    n.put("title", e.title());
    n.put("status", e.status());
    n.put("detail", e.getMessage());
    n.put("instance", RenderValidation.clip(ctx.path()));
    ArrayNode errors = n.putArray("errors");
    for (FieldError fe : e.errors()) {
      errors.addObject().put("field", fe.field()).put("message", fe.message());
    }
    e.headers().forEach(ctx::header);
    try {
      ctx.status(e.status()).contentType(PROBLEM_JSON).result(json.writeValueAsBytes(n));
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
  }
}
