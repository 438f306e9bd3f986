package dev.reelflow.ingest;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.AsyncApiDocument;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.RetryPolicy;
import dev.reelflow.storage.input.CheckedHttpClient;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.javalin.http.staticfiles.Location;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingest HTTP API: renders, batches, status, cancel, reprioritize, SSE progress, schedules,
 * webhooks, OpenAPI, health, readiness and metrics (routes in {@code openapi.json}).
 *
 * <pre>{@code
 * IngestServer server = IngestServer.builder(IngestConfig.load(file, System.getenv())).build().start();
 * ...
 * server.close();
 * }</pre>
 *
 * Accepted requests are published to Kafka (idempotent producers, acks=all; a batch in one
 * transaction) before the answer; status comes from a view of the compacted render.status topic
 * that every instance replays from the beginning.
 */
public final class IngestServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IngestServer.class);
  static final String PROBLEM_JSON = "application/problem+json";
  private static final String TENANT_ATTR = "reelflow.tenant";
  private static final String ROUTE_ATTR = "reelflow.route";

  /** The request attribute holding the least body rate (bytes/s) and its grace, for bodies. */
  static final String BODY_RATE_ATTR = "reelflow.body.rate";

  private final IngestConfig config;
  private final Builder builder;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<Route> routes = new ArrayList<>();
  private IngestServices services;
  private ApiKeys keys;
  private CompactedTopicReader statusReader;
  private WebhookDispatcher webhooks;
  private Javalin app;

  private IngestServer(Builder b) {
    this.builder = b;
    this.config = b.config;
  }

  public static Builder builder(IngestConfig config) {
    return new Builder(config);
  }

  /** Options beside the {@link IngestConfig}; most exist for tests. */
  public static final class Builder {
    private final IngestConfig config;
    private EventPublisher publisher;
    private ApiKeys apiKeys;
    private boolean kafkaViews = true;
    private Serializer<Object> valueSerializer;
    private Clock clock = Clock.systemUTC();
    private RenderJson.OutputLinks outputLinks;
    private CheckedHttpClient.Resolver callbackResolver = CheckedHttpClient.Resolver.system();

    private Builder(IngestConfig config) {
      this.config = config;
    }

    /** Replaces Kafka publishing (tests: an in-memory double). */
    Builder publisher(EventPublisher publisher) {
      this.publisher = publisher;
      return this;
    }

    /** Tenants and keys instead of the configured key file. */
    Builder apiKeys(ApiKeys keys) {
      this.apiKeys = keys;
      return this;
    }

    /** Do not read render.status, render.schedules or the idempotency topic (tests). */
    Builder withoutKafkaViews() {
      this.kafkaViews = false;
      return this;
    }

    /** Wraps the Avro value serializer (fault injection in tests). */
    Builder valueSerializer(Serializer<Object> serializer) {
      this.valueSerializer = serializer;
      return this;
    }

    /** How webhook deliveries resolve callback hosts (tests: names they control). */
    Builder callbackResolver(CheckedHttpClient.Resolver resolver) {
      this.callbackResolver = resolver;
      return this;
    }

    Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** How output object keys become URLs; default: presigned through S3 if configured. */
    public Builder outputLinks(java.util.function.BiFunction<String, String, String> links) {
      this.outputLinks = links::apply;
      return this;
    }

    public IngestServer build() {
      return new IngestServer(this);
    }
  }

  /** Starts Kafka readers, the publisher and the HTTP server; returns at once (see /readyz). */
  public synchronized IngestServer start() throws IOException {
    LOG.info("{}", config.describe());
    ObjectMapper json = newMapper();
    keys = builder.apiKeys != null ? builder.apiKeys : ApiKeys.load(config);
    if (keys.size() == 0) {
      LOG.warn(
          "No API keys configured ({} / {}): every /v1 call will answer 401",
          IngestConfig.API_KEYS_FILE,
          IngestConfig.API_KEYS);
    }
    PromptLength prompts = PromptLength.of(config);
    closeables.add(prompts);
    if (prompts.countsTokens()) {
      LOG.info(
          "prompts are counted in the text encoder's tokens ({}): at most {} tokens",
          config.get(IngestConfig.PROMPT_MODEL_DIR),
          prompts.tokenLimit());
    } else {
      LOG.info(
          "prompts are bounded in characters only ({} not set): the base worker refuses a prompt"
              + " its text encoder cannot take",
          IngestConfig.PROMPT_MODEL_DIR);
    }
    IngestMetrics metrics = new IngestMetrics();
    StatusView statuses = new StatusView();
    ScheduleView schedules = new ScheduleView();
    LineageView lineage = new LineageView(config.intValue(IngestConfig.LINEAGE_MAX_RENDERS));
    IdempotencyLedger ledger = new IdempotencyLedger(json);
    Optional<ArtifactStore> store = store();
    RenderJson renderJson = new RenderJson(json, outputLinks(store));

    SchemaRegistryClient registry = null;
    Serializer<Object> values = builder.valueSerializer;
    if (builder.publisher == null || builder.kafkaViews) {
      registry = new SchemaRegistryClient(SchemaRegistryConfig.of(config.schemaRegistryUrl()));
    }
    EventPublisher publisher = builder.publisher;
    if (publisher == null) {
      Serializer<Object> avro = avroSerializer(registry);
      Serializer<Object> chosen = values != null ? values : avro;
      if (values != null && values instanceof WrappingSerializer w) {
        w.wrap(avro);
      }
      publisher = new KafkaEventPublisher(config, chosen);
    }
    closeables.add(publisher);

    IngestServices.Catchup catchup = IngestServices.Catchup.NONE;
    if (builder.kafkaViews) {
      // In the background: an unreachable cluster must not hold up start (see /readyz).
      Thread creator = new Thread(this::ensureIdempotencyTopic, "reelflow-idempotency-topic");
      creator.setDaemon(true);
      creator.start();
      AvroRecordDeserializer<RenderStatus> statusReaderDe =
          AvroRecordDeserializer.builder(RenderStatus.class).client(registry).build();
      AvroRecordDeserializer<Schedule> scheduleDe =
          AvroRecordDeserializer.builder(Schedule.class).client(registry).build();
      statusReader =
          new CompactedTopicReader(
              config.bootstrapServers(),
              config.get(IngestConfig.TOPIC_STATUS),
              config.instanceId(),
              r -> {
                if (r.value() == null) {
                  statuses.remove(r.key());
                } else {
                  statuses.apply(statusReaderDe.deserialize(r.topic(), r.value()));
                }
              },
              statuses::goLive);
      CompactedTopicReader scheduleReader =
          new CompactedTopicReader(
              config.bootstrapServers(),
              config.get(IngestConfig.TOPIC_SCHEDULES),
              config.instanceId(),
              r ->
                  schedules.apply(
                      r.key(),
                      r.value() == null ? null : scheduleDe.deserialize(r.topic(), r.value())),
              () -> {});
      CompactedTopicReader ledgerReader =
          new CompactedTopicReader(
              config.bootstrapServers(),
              config.get(IngestConfig.TOPIC_IDEMPOTENCY),
              config.instanceId(),
              r -> ledger.apply(r.key(), r.value()),
              () -> {});
      CompactedTopicReader lineageReader =
          new CompactedTopicReader(
              config.bootstrapServers(),
              config.get(IngestConfig.TOPIC_LINEAGE),
              config.instanceId(),
              r -> {
                if (r.key() != null && r.value() != null) {
                  lineage.append(r.key(), LineageView.checked(json, r.value()));
                }
              },
              lineage::replayed);
      for (CompactedTopicReader r :
          List.of(statusReader, scheduleReader, ledgerReader, lineageReader)) {
        closeables.add(r);
        r.start();
      }
      catchup =
          new IngestServices.Catchup() {
            @Override
            public boolean statuses(Duration t) {
              return statusReader.catchUp(t);
            }

            @Override
            public boolean schedules(Duration t) {
              return scheduleReader.catchUp(t);
            }

            @Override
            public boolean ledger(Duration t) {
              return ledgerReader.catchUp(t);
            }

            @Override
            public boolean lineage(Duration t) {
              return lineageReader.catchUp(t);
            }
          };
    } else {
      statuses.goLive();
      lineage.replayed();
    }
    services =
        new IngestServices(
            config,
            json,
            publisher,
            statuses,
            schedules,
            lineage,
            ledger,
            catchup,
            new TenantLimits(System::nanoTime),
            metrics,
            renderJson,
            store,
            ImageInputs.of(config, store),
            prompts,
            builder.clock);
    if (config.booleanValue(IngestConfig.WEBHOOKS_ENABLED) && builder.kafkaViews) {
      webhooks =
          new WebhookDispatcher(
              config,
              keys,
              renderJson,
              json,
              metrics,
              AvroRecordDeserializer.builder(RenderStatus.class).client(registry).build(),
              avroSerializer(registry),
              services.images().callbackPolicy(),
              builder.callbackResolver);
      closeables.add(webhooks);
      webhooks.start();
    }
    RenderRoutes renders = new RenderRoutes(services);
    routes.addAll(renders.routes());
    routes.addAll(new InspectionRoutes(services, renders).routes());
    routes.addAll(new ScheduleRoutes(services, renders).routes());
    routes.add(
        new Route("GET", "/healthz", (ctx, t) -> text(ctx, 200, "{\"status\":\"ok\"}"), false));
    routes.add(new Route("GET", "/readyz", this::ready, false));
    routes.add(new Route("GET", "/metrics", this::metrics, false));
    routes.add(new Route("GET", "/openapi.json", this::openapi, false));
    routes.add(new Route("GET", "/asyncapi.json", this::asyncapi, false));
    app = Javalin.create(cfg -> configure(cfg, json));
    app.start(config.get(IngestConfig.HOST), config.port());
    LOG.info("ingest {} listening on port {}", config.instanceId(), app.port());
    return this;
  }

  /** The object store where one is configured (presigned URLs, manifests); no network call. */
  private Optional<ArtifactStore> store() {
    String endpoint = config.get(IngestConfig.S3_ENDPOINT);
    if (endpoint.isBlank()) {
      return Optional.empty();
    }
    // Reads answer an HTTP request: retrying for the store's default two minutes would hold the
    // client far longer than a 503 with Retry-After does.
    Duration read = config.duration(IngestConfig.S3_READ_TIMEOUT);
    ArtifactStore store =
        ArtifactStore.builder()
            .endpoint(endpoint)
            .credentials(
                config.get(IngestConfig.S3_ACCESS_KEY), config.get(IngestConfig.S3_SECRET_KEY))
            .bucket(config.get(IngestConfig.S3_BUCKET))
            .connectTimeout(min(read, Duration.ofSeconds(2)))
            .requestTimeout(read)
            .retryPolicy(
                RetryPolicy.builder()
                    .initialBackoff(Duration.ofMillis(100))
                    .maxBackoff(Duration.ofSeconds(1))
                    .maxElapsed(read)
                    .build())
            .build();
    closeables.add(store);
    return Optional.of(store);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private RenderJson.OutputLinks outputLinks(Optional<ArtifactStore> store) {
    if (builder.outputLinks != null) {
      return builder.outputLinks;
    }
    if (store.isEmpty()) {
      String bucket = config.get(IngestConfig.S3_BUCKET);
      return (tenant, key) -> "s3://" + bucket + "/" + key;
    }
    ArtifactStore s3 = store.get();
    Duration ttl = config.duration(IngestConfig.S3_PRESIGN_TTL);
    return (tenant, key) -> s3.presignGetForTenant(tenant, key, ttl).toString();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Serializer<Object> avroSerializer(SchemaRegistryClient registry) {
    AvroRecordSerializer<SpecificRecord> s =
        AvroRecordSerializer.<SpecificRecord>builder().client(registry).build();
    return (Serializer) s;
  }

  /** A test serializer that delegates to the real Avro one once the server created it. */
  interface WrappingSerializer extends Serializer<Object> {
    void wrap(Serializer<Object> avro);
  }

  static ObjectMapper newMapper() {
    JsonMapper m =
        JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    m.getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(64)
                // a data: URI image of up to 16 MiB is some 21.4 MiB of base64
                .maxStringLength(24 << 20)
                .maxNumberLength(64)
                .build());
    return m;
  }

  private void ensureIdempotencyTopic() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
    try (Admin admin = Admin.create(p)) {
      String name = config.get(IngestConfig.TOPIC_IDEMPOTENCY);
      NewTopic t =
          new NewTopic(name, Optional.of(3), Optional.empty())
              .configs(Map.of("cleanup.policy", "compact"));
      admin.createTopics(List.of(t)).all().get(10, TimeUnit.SECONDS);
      LOG.info("Created compacted topic {}", name);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        LOG.warn(
            "Could not create the idempotency topic (will retry on use): {}",
            e.getCause().toString());
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("Could not create the idempotency topic: {}", e.toString());
    }
  }

  private void configure(io.javalin.config.JavalinConfig cfg, ObjectMapper json) {
    cfg.startup.showJavalinBanner = false;
    cfg.http.prefer405over404 = true;
    cfg.http.compressionStrategy = CompressionStrategy.NONE;
    cfg.http.maxRequestSize =
        Math.max(
            config.longValue(IngestConfig.BATCH_MAX_BYTES),
            config.longValue(IngestConfig.BODY_MAX_BYTES));
    cfg.concurrency.useVirtualThreads = true;
    SlowClientGuard guard =
        new SlowClientGuard(
            config.duration(IngestConfig.HTTP_HEADER_TIMEOUT),
            config.duration(IngestConfig.HTTP_IDLE_TIMEOUT));
    closeables.add(guard);
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
        BODY_RATE_ATTR,
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

  private static void text(Context ctx, int status, String jsonText) {
    ctx.status(status).contentType("application/json").result(jsonText);
  }

  private void ready(Context ctx, Tenant none) {
    boolean kafka = services.publisher().reachable(Duration.ofSeconds(2));
    boolean replayed = statusReader == null || statusReader.replayed();
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
    services.metrics().webhooksPending(pendingWebhooks());
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

  /** The registered routes (method and path template), for the OpenAPI test. */
  List<String> routeSignatures() {
    return routes.stream().map(r -> r.method().toUpperCase(Locale.ROOT) + " " + r.path()).toList();
  }

  IngestServices services() {
    return services;
  }

  int pendingWebhooks() {
    return webhooks == null ? 0 : webhooks.pending();
  }

  /** The render.status partitions whose webhooks this instance delivers now. */
  java.util.Set<Integer> webhookPartitions() {
    return webhooks == null ? java.util.Set.of() : webhooks.ownedPartitions();
  }

  /** The port the server listens on (useful with port 0). */
  public int port() {
    return app.port();
  }

  /** {@code http://localhost:<port>}. */
  public String baseUrl() {
    return "http://localhost:" + port();
  }

  /** Waits until the status view has replayed render.status (false after the timeout). */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    return statusReader == null || statusReader.awaitReplayed(timeout);
  }

  @Override
  public synchronized void close() {
    if (app != null) {
      app.stop();
      app = null;
    }
    for (int i = closeables.size() - 1; i >= 0; i--) {
      try {
        closeables.get(i).close();
      } catch (Exception e) {
        LOG.warn(
            "Closing {} failed: {}", closeables.get(i).getClass().getSimpleName(), e.toString());
      }
    }
    closeables.clear();
  }
}
