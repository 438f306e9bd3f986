package dev.reelflow.ingest;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.input.CheckedHttpClient;
import io.javalin.Javalin;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.avro.specific.SpecificRecord;
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

  /** The request attribute holding the least body rate (bytes/s) and its grace, for bodies. */
  static final String BODY_RATE_ATTR = "reelflow.body.rate";

  private final IngestConfig config;
  private final Builder builder;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<Route> routes = new ArrayList<>();
  private IngestServices services;
  private ApiKeys keys;
  private KafkaViews views;
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
    Optional<ArtifactStore> store = IngestStore.open(config);
    store.ifPresent(closeables::add);
    RenderJson renderJson =
        new RenderJson(
            json,
            builder.outputLinks != null
                ? builder.outputLinks
                : IngestStore.outputLinks(config, store));

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
      views = KafkaViews.start(config, registry, json, statuses, schedules, ledger, lineage);
      closeables.add(views);
      catchup = views.catchup();
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
    routes.addAll(
        new OperationalRoutes(
                services, () -> views == null || views.statusReplayed(), this::pendingWebhooks)
            .routes());
    JavalinWiring http = new JavalinWiring(config, json, routes, keys, services);
    closeables.add(http);
    app = Javalin.create(http::configure);
    app.start(config.get(IngestConfig.HOST), config.port());
    LOG.info("ingest {} listening on port {}", config.instanceId(), app.port());
    return this;
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
    return views == null || views.awaitStatusReplayed(timeout);
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
