package dev.reelflow.ingest;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Durations;
import dev.reelflow.config.Setting;
import dev.reelflow.storage.input.AddressPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Immutable configuration of one ingest process. Every setting is declared once below as a {@link
 * Setting} (name, type, default, validation, documentation) and listed in {@link #SPEC}; the
 * README's ingest table is generated from it. Values come from the defaults, then a properties
 * file, then environment variables ({@link ConfigSpec#envName(String)}: {@code REELFLOW_} and the
 * name upper-cased with {@code .} and {@code -} as {@code _}, e.g. {@code
 * REELFLOW_KAFKA_BOOTSTRAP_SERVERS}), then the typed {@link Builder}. Names and durations follow
 * the one vocabulary (ARCHITECTURE.md, decision 23); the dotted names of earlier releases and
 * ISO-8601 durations are still read, with a warning naming the new form.
 */
public final class IngestConfig {

  private static final Logger LOG = LoggerFactory.getLogger(IngestConfig.class);

  /** The largest reference image ingest accepts at all, whatever the setting. */
  private static final long IMAGE_MAX_BYTES_LIMIT = 16L << 20;

  public static final Setting<String> HOST =
      Setting.string("ingest.host")
          .defaultValue("0.0.0.0")
          .doc("Address the HTTP server binds.")
          .build();
  public static final Setting<Integer> PORT =
      Setting.integer("ingest.port")
          .defaultValue("8080")
          .check(p -> p >= 0 && p <= 65535, "in 0..65535")
          .doc("HTTP port; 0 picks a free one.")
          .build();
  public static final Setting<String> INSTANCE_ID =
      Setting.string("ingest.instance-id")
          .doc(
              "Names this instance (its Kafka client and transactional ids); a random"
                  + " `ingest-xxxxxxxx` when not set.")
          .oldName("ingest.instance.id")
          .build();
  public static final Setting<String> BOOTSTRAP_SERVERS =
      Setting.string("kafka.bootstrap.servers")
          .defaultValue("localhost:9092")
          .doc("Kafka brokers.")
          .build();
  public static final Setting<String> SCHEMA_REGISTRY_URL =
      Setting.string("schema.registry.url")
          .defaultValue("http://localhost:8081")
          .doc("Schema registry.")
          .build();
  public static final Setting<Long> MAX_BLOCK_MS =
      Setting.longInteger("kafka.max.block.ms")
          .defaultValue("5000")
          .check(v -> v > 0, "> 0")
          .doc(
              "Longest a send may wait for metadata or buffer space (ms, Kafka's own property)"
                  + " before the request answers 503.")
          .build();
  public static final Setting<Long> DELIVERY_TIMEOUT_MS =
      Setting.longInteger("kafka.delivery.timeout.ms")
          .defaultValue("15000")
          .check(v -> v > 0, "> 0")
          .doc(
              "Longest a record may wait for the broker's acknowledgement (ms, Kafka's own"
                  + " property) before the request answers 503.")
          .build();
  public static final Setting<Integer> TRANSACTIONAL_PRODUCERS =
      Setting.integer("ingest.transactional-producers")
          .defaultValue("2")
          .check(v -> v > 0, "> 0")
          .doc("Batches published concurrently, each in its own Kafka transaction.")
          .oldName("kafka.transactional.producers")
          .build();
  public static final Setting<String> S3_ENDPOINT =
      Setting.string("s3.endpoint")
          .defaultValue("")
          .doc(
              "S3 endpoint for presigned output URLs and render manifests; without it outputs are"
                  + " shown as object keys.")
          .build();
  public static final Setting<String> S3_ACCESS_KEY =
      Setting.string("s3.access-key")
          .defaultValue("")
          .secret()
          .doc("S3 access key.")
          .oldName("s3.access.key")
          .build();
  public static final Setting<String> S3_SECRET_KEY =
      Setting.string("s3.secret-key")
          .defaultValue("")
          .secret()
          .doc("S3 secret key.")
          .oldName("s3.secret.key")
          .build();
  public static final Setting<String> S3_BUCKET =
      Setting.string("s3.bucket").defaultValue("reelflow").doc("Render bucket.").build();
  public static final Setting<Duration> S3_PRESIGN_TTL =
      Setting.duration("s3.presign-ttl")
          .defaultValue("1h")
          .doc("Validity of presigned output URLs.")
          .oldName("s3.presign.ttl")
          .build();
  public static final Setting<Duration> S3_READ_TIMEOUT =
      Setting.duration("s3.read-timeout")
          .defaultValue("5s")
          .check(d -> !d.isZero() && !d.isNegative(), "> 0")
          .doc(
              "Longest a read from the store (a render's manifest) may take, retries of an"
                  + " unavailable endpoint included, before the request answers 503.")
          .oldName("s3.read.timeout")
          .build();
  public static final Setting<String> API_KEYS_FILE =
      Setting.string("ingest.api-keys-file")
          .defaultValue("")
          .doc("JSON file of hashed API keys per tenant.")
          .oldName("ingest.api.keys.file")
          .build();
  public static final Setting<String> API_KEYS =
      Setting.string("ingest.api-keys")
          .defaultValue("")
          .secret()
          .doc("Inline keys: `tenant:sha256hex[:webhookSecret]` separated by commas.")
          .oldName("ingest.api.keys")
          .build();
  public static final Setting<Double> RATE_PER_SECOND =
      Setting.decimal("ingest.rate-limit.per-second")
          .defaultValue("50")
          .check(v -> v > 0, "> 0")
          .doc("Requests per second per tenant.")
          .oldName("ingest.rate.limit.per.second")
          .build();
  public static final Setting<Integer> RATE_BURST =
      Setting.integer("ingest.rate-limit.burst")
          .defaultValue("100")
          .check(v -> v > 0, "> 0")
          .doc("Token bucket size per tenant.")
          .oldName("ingest.rate.limit.burst")
          .build();
  public static final Setting<Long> MAX_IN_FLIGHT =
      Setting.longInteger("ingest.quota.max-in-flight")
          .defaultValue("100000")
          .check(v -> v > 0, "> 0")
          .doc("Renders per tenant not yet in a final state.")
          .oldName("ingest.quota.max.in.flight")
          .build();
  public static final Setting<Long> BODY_MAX_BYTES =
      Setting.longInteger("ingest.body.max-bytes")
          .defaultValue("262144")
          .check(v -> v > 0, "> 0")
          .doc("Largest single-render or schedule body.")
          .oldName("ingest.body.max.bytes")
          .build();
  public static final Setting<Integer> BATCH_MAX_ROWS =
      Setting.integer("ingest.batch.max-rows")
          .defaultValue("100000")
          .check(v -> v > 0, "> 0")
          .doc("Most rows in one batch.")
          .oldName("ingest.batch.max.rows")
          .build();
  public static final Setting<Long> BATCH_MAX_BYTES =
      Setting.longInteger("ingest.batch.max-bytes")
          .defaultValue(Long.toString(64L << 20))
          .check(v -> v > 0, "> 0")
          .doc("Largest batch body.")
          .oldName("ingest.batch.max.bytes")
          .build();
  public static final Setting<Duration> HTTP_IDLE_TIMEOUT =
      Setting.duration("ingest.http.idle-timeout")
          .defaultValue("30s")
          .check(d -> !d.isZero() && !d.isNegative(), "> 0")
          .doc(
              "A connection on which nothing arrives for this long is closed (a request waiting"
                  + " for its body answers 408 first).")
          .oldName("ingest.http.idle.timeout")
          .build();
  public static final Setting<Duration> HTTP_HEADER_TIMEOUT =
      Setting.duration("ingest.http.header-timeout")
          .defaultValue("10s")
          .check(d -> !d.isZero() && !d.isNegative(), "> 0")
          .doc(
              "A new connection must have sent a complete request head (request line and"
                  + " headers) within this time, else it is closed without an answer: a client"
                  + " trickling its headers (slowloris) cannot hold a connection open.")
          .oldName("ingest.http.header.timeout")
          .build();
  public static final Setting<Long> HTTP_MIN_BODY_RATE =
      Setting.longInteger("ingest.http.min-body-rate")
          .defaultValue("1024")
          .check(v -> v > 0, "> 0")
          .doc(
              "Bytes per second a request body must average once it has taken longer than"
                  + " `ingest.http.header-timeout`, else the request answers 408 and the"
                  + " connection is closed: a client trickling its body cannot hold a request"
                  + " thread.")
          .oldName("ingest.http.min.body.rate")
          .build();
  public static final Setting<Boolean> WEBHOOKS_ENABLED =
      Setting.bool("ingest.webhooks.enabled")
          .defaultValue("true")
          .doc("Deliver webhooks from this instance.")
          .build();
  public static final Setting<Duration> WEBHOOK_INITIAL_BACKOFF =
      Setting.duration("ingest.webhook.initial-backoff")
          .defaultValue("1s")
          .doc("First retry delay of a webhook delivery (it doubles).")
          .oldName("ingest.webhook.initial.backoff")
          .build();
  public static final Setting<Duration> WEBHOOK_MAX_BACKOFF =
      Setting.duration("ingest.webhook.max-backoff")
          .defaultValue("10m")
          .doc("Longest retry delay of a webhook delivery.")
          .oldName("ingest.webhook.max.backoff")
          .build();
  public static final Setting<Duration> WEBHOOK_RETRY_FOR =
      Setting.duration("ingest.webhook.retry-for")
          .defaultValue("2h")
          .doc("How long a webhook delivery is retried after the state change.")
          .oldName("ingest.webhook.retry.for")
          .build();
  public static final Setting<Duration> WEBHOOK_TIMEOUT =
      Setting.duration("ingest.webhook.timeout")
          .defaultValue("10s")
          .doc("HTTP timeout of one webhook attempt.")
          .build();
  public static final Setting<Integer> WEBHOOK_QUEUE_CAPACITY =
      Setting.integer("ingest.webhook.queue-capacity")
          .defaultValue("10000")
          .check(v -> v > 0, "> 0")
          .doc(
              "Pending deliveries one instance holds; beyond it the instance stops reading new"
                  + " state changes (they wait in render.status, nothing is dropped).")
          .oldName("ingest.webhook.queue.capacity")
          .build();
  public static final Setting<String> WEBHOOK_GROUP =
      Setting.string("ingest.webhook.group")
          .defaultValue("reelflow-ingest-webhooks")
          .doc(
              "Consumer group of the instances that deliver webhooks: each render.status"
                  + " partition's deliveries belong to one member at a time.")
          .build();
  public static final Setting<Boolean> WEBHOOK_ALLOW_HTTP =
      Setting.bool("ingest.webhook.allow-http")
          .defaultValue("false")
          .doc("Accept http `callbackUrl`s besides https: a test override, never for production.")
          .oldName("ingest.webhook.allow.http")
          .build();
  public static final Setting<List<String>> WEBHOOK_ALLOW_HOSTS =
      Setting.list("ingest.webhook.allow-hosts")
          .defaultValue("")
          .doc(
              "Hosts and address ranges a `callbackUrl` may reach although the SSRF rules refuse"
                  + " them (the local stack's test receivers).")
          .oldName("ingest.webhook.allow.hosts")
          .build();
  public static final Setting<List<String>> WEBHOOK_DENY_HOSTS =
      Setting.list("ingest.webhook.deny-hosts")
          .defaultValue("")
          .doc(
              "More hosts and address ranges a `callbackUrl` must never reach (the hosts of"
                  + " `kafka.bootstrap.servers`, `schema.registry.url` and `s3.endpoint` are"
                  + " always denied).")
          .oldName("ingest.webhook.deny.hosts")
          .build();
  public static final Setting<Integer> LINEAGE_MAX_RENDERS =
      Setting.integer("ingest.lineage.max-renders")
          .defaultValue("2000")
          .check(v -> v > 0, "> 0")
          .doc(
              "Renders whose OpenLineage events the lineage view keeps (those with the most"
                  + " recent events; about 11 KB of JSON for an upscaled render, so some 22 MB at"
                  + " the default); older ones answer 404 \"evicted\".")
          .oldName("ingest.lineage.max.renders")
          .build();
  public static final Setting<Long> IMAGE_MAX_BYTES =
      Setting.longInteger("ingest.image.max-bytes")
          .defaultValue(Long.toString(10L << 20))
          .check(
              v -> v >= 1 && v <= IMAGE_MAX_BYTES_LIMIT,
              "in 1.." + IMAGE_MAX_BYTES_LIMIT + " (16 MiB)")
          .doc(
              "Largest reference image of an image-to-video render (encoded; at most 16 MiB); a"
                  + " single-render body may exceed `ingest.body.max-bytes` by the base64 of one"
                  + " such image.")
          .oldName("ingest.image.max.bytes")
          .build();
  public static final Setting<Boolean> IMAGE_ALLOW_HTTP =
      Setting.bool("ingest.image.allow-http")
          .defaultValue("false")
          .doc("Accept http `imageUrl`s besides https: a test override, never for production.")
          .oldName("ingest.image.allow.http")
          .build();
  public static final Setting<List<String>> IMAGE_ALLOW_HOSTS =
      Setting.list("ingest.image.allow-hosts")
          .defaultValue("")
          .doc(
              "Hosts and address ranges (e.g. `127.0.0.1,images.test`) an `imageUrl` may name"
                  + " although the SSRF rules refuse them (the local stack's test servers).")
          .oldName("ingest.image.allow.hosts")
          .build();
  public static final Setting<List<String>> IMAGE_DENY_HOSTS =
      Setting.list("ingest.image.deny-hosts")
          .defaultValue("")
          .doc(
              "More hosts and address ranges an `imageUrl` must never name (the hosts of"
                  + " `kafka.bootstrap.servers`, `schema.registry.url` and `s3.endpoint` are"
                  + " always denied).")
          .oldName("ingest.image.deny.hosts")
          .build();
  public static final Setting<String> PROMPT_MODEL_DIR =
      Setting.string("ingest.prompt.model-dir")
          .defaultValue("")
          .doc(
              "The checkpoint folder the base pool renders with (its"
                  + " `text_encoder/llm/tokenizer.json`; a folder holding a `tokenizer.json` also"
                  + " works): `prompt` and `negativePrompt` are counted in that tokenizer's tokens"
                  + " through the official template and refused with a 422 when the text encoder"
                  + " cannot take them. Without it only the 4,000-character bound applies and the"
                  + " base worker fails such a render (BAD_PARAMETERS).")
          .oldName("ingest.prompt.model.dir")
          .build();
  public static final Setting<Boolean> CONSOLE_ENABLED =
      Setting.bool("ingest.console.enabled")
          .defaultValue("true")
          .doc("Serve the web console (classpath `/console`) at `/console`.")
          .build();
  public static final Setting<String> TOPIC_REQUESTS = topic("requests", "Render requests.");
  public static final Setting<String> TOPIC_COMMANDS =
      topic("commands", "Render commands (cancel, retry).");
  public static final Setting<String> TOPIC_STATUS = topic("status", "Render states.");
  public static final Setting<String> TOPIC_SCHEDULES = topic("schedules", "Schedules.");
  public static final Setting<String> TOPIC_LINEAGE =
      topic("lineage", "OpenLineage events of renders.");
  public static final Setting<String> TOPIC_IDEMPOTENCY =
      topic("idempotency", "Compacted topic of used Idempotency-Keys (ingest-private).");
  public static final Setting<String> TOPIC_WEBHOOKS =
      topic(
          "webhooks",
          "Compacted topic of pending webhook deliveries and their retry schedule, partitioned"
              + " like render.status.");
  public static final Setting<String> TOPIC_DLQ =
      topic("dlq", "Where webhook deliveries that were refused or ran out of retries go.");

  /** Every ingest setting, in documentation order. */
  public static final ConfigSpec SPEC =
      ConfigSpec.builder("ingest")
          .add(
              HOST,
              PORT,
              INSTANCE_ID,
              BOOTSTRAP_SERVERS,
              SCHEMA_REGISTRY_URL,
              MAX_BLOCK_MS,
              DELIVERY_TIMEOUT_MS,
              TRANSACTIONAL_PRODUCERS,
              S3_ENDPOINT,
              S3_ACCESS_KEY,
              S3_SECRET_KEY,
              S3_BUCKET,
              S3_PRESIGN_TTL,
              S3_READ_TIMEOUT,
              API_KEYS_FILE,
              API_KEYS,
              RATE_PER_SECOND,
              RATE_BURST,
              MAX_IN_FLIGHT,
              BODY_MAX_BYTES,
              BATCH_MAX_ROWS,
              BATCH_MAX_BYTES,
              HTTP_IDLE_TIMEOUT,
              HTTP_HEADER_TIMEOUT,
              HTTP_MIN_BODY_RATE,
              WEBHOOKS_ENABLED,
              WEBHOOK_INITIAL_BACKOFF,
              WEBHOOK_MAX_BACKOFF,
              WEBHOOK_RETRY_FOR,
              WEBHOOK_TIMEOUT,
              WEBHOOK_QUEUE_CAPACITY,
              WEBHOOK_GROUP,
              WEBHOOK_ALLOW_HTTP,
              WEBHOOK_ALLOW_HOSTS,
              WEBHOOK_DENY_HOSTS,
              LINEAGE_MAX_RENDERS,
              IMAGE_MAX_BYTES,
              IMAGE_ALLOW_HTTP,
              IMAGE_ALLOW_HOSTS,
              IMAGE_DENY_HOSTS,
              PROMPT_MODEL_DIR,
              CONSOLE_ENABLED,
              TOPIC_REQUESTS,
              TOPIC_COMMANDS,
              TOPIC_STATUS,
              TOPIC_SCHEDULES,
              TOPIC_LINEAGE,
              TOPIC_IDEMPOTENCY,
              TOPIC_WEBHOOKS,
              TOPIC_DLQ)
          .build();

  private static Setting<String> topic(String what, String doc) {
    return Setting.string("topic." + what).defaultValue("render." + what).doc(doc).build();
  }

  private final ConfigValues values;
  private final String instanceId;
  private final boolean instanceIdGenerated;

  private IngestConfig(ConfigValues values) {
    this(values, "ingest-" + UUID.randomUUID().toString().substring(0, 8));
  }

  /** {@code generatedId} names the instance when {@link #INSTANCE_ID} is not set. */
  private IngestConfig(ConfigValues values, String generatedId) {
    this.values = values;
    String id = values.get(INSTANCE_ID);
    this.instanceIdGenerated = id == null || id.isBlank();
    this.instanceId = instanceIdGenerated ? generatedId : id;
    // The host lists are checked now, so a bad entry fails at start naming its setting.
    addressPolicy(IMAGE_ALLOW_HTTP, IMAGE_ALLOW_HOSTS, IMAGE_DENY_HOSTS);
    addressPolicy(WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_HOSTS, WEBHOOK_DENY_HOSTS);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads a properties file (if given and present) and then the {@code REELFLOW_*} environment.
   * Unknown names in the file are refused so that a typo does not silently fall back to a default;
   * old names and ISO-8601 durations are read with a warning.
   *
   * @throws dev.reelflow.config.ConfigException naming the setting and where its value came from
   */
  public static IngestConfig load(Path propertiesFile, Map<String, String> env) {
    Path file = propertiesFile;
    if (file != null && !Files.exists(file)) {
      LOG.warn("ingest configuration file {} does not exist; using the environment only", file);
      file = null;
    }
    return new IngestConfig(SPEC.load(file, env, Map.of()));
  }

  /** The values as read, with where each came from. */
  public ConfigValues values() {
    return values;
  }

  /** What was read under an old name or in an old form, one sentence each. */
  public List<String> warnings() {
    return values.warnings();
  }

  /** A copy with {@code setting} set to {@code value} (written as in a properties file). */
  public IngestConfig with(Setting<?> setting, String value) {
    return new IngestConfig(values.with(setting.name(), value), instanceId);
  }

  /** The value of {@code setting}; optional text settings are empty, never null. */
  public <T> T get(Setting<T> setting) {
    if (setting == INSTANCE_ID) {
      return setting.parse(instanceId);
    }
    return values.get(setting);
  }

  public int intValue(Setting<Integer> setting) {
    return get(setting);
  }

  public long longValue(Setting<Long> setting) {
    return get(setting);
  }

  public double doubleValue(Setting<Double> setting) {
    return get(setting);
  }

  public boolean booleanValue(Setting<Boolean> setting) {
    return get(setting);
  }

  public Duration duration(Setting<Duration> setting) {
    return get(setting);
  }

  /**
   * The SSRF rules for URLs a client gives ({@code imageUrl}: the {@code ingest.image.*} settings,
   * {@code callbackUrl}: the {@code ingest.webhook.*} settings): the operator's allow and deny
   * lists, and the pipeline's own services (Kafka, the schema registry, the object store) denied.
   *
   * @throws IllegalArgumentException naming the setting of an entry that is no host or range
   */
  public AddressPolicy addressPolicy(
      Setting<Boolean> allowHttp,
      Setting<List<String>> allowHosts,
      Setting<List<String>> denyHosts) {
    AddressPolicy.Builder b = AddressPolicy.builder().allowHttp(get(allowHttp));
    try {
      b.allowAll(String.join(",", get(allowHosts)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(allowHosts.name() + ": " + e.getMessage(), e);
    }
    try {
      b.denyAll(String.join(",", get(denyHosts)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(denyHosts.name() + ": " + e.getMessage(), e);
    }
    return b.denyServices(bootstrapServers(), schemaRegistryUrl(), get(S3_ENDPOINT)).build();
  }

  public String bootstrapServers() {
    return get(BOOTSTRAP_SERVERS);
  }

  public String schemaRegistryUrl() {
    return get(SCHEMA_REGISTRY_URL);
  }

  public int port() {
    return get(PORT);
  }

  public String instanceId() {
    return instanceId;
  }

  /**
   * Every value with its source, secrets masked, then the warnings: what the server logs at start.
   */
  public String describe() {
    StringBuilder sb = new StringBuilder(values.describe());
    if (instanceIdGenerated) {
      sb.append("\n  ").append(INSTANCE_ID.name()).append(" = ").append(instanceId);
      sb.append("  (generated)");
    }
    for (String w : values.warnings()) {
      sb.append("\n  warning: ").append(w);
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return describe();
  }

  /**
   * Typed builder for embedding and tests: its values are applied as overrides on the defaults (no
   * file, no environment) and validated when {@link #build()} runs.
   */
  public static final class Builder {
    private final Map<String, String> values = new LinkedHashMap<>();

    private Builder() {}

    /** Sets {@code setting} to {@code value}, written as in a properties file. */
    public Builder set(Setting<?> setting, String value) {
      values.put(setting.name(), Objects.requireNonNull(value, setting.name()));
      return this;
    }

    public Builder host(String host) {
      return set(HOST, host);
    }

    public Builder port(int port) {
      return set(PORT, Integer.toString(port));
    }

    public Builder instanceId(String id) {
      return set(INSTANCE_ID, id);
    }

    public Builder bootstrapServers(String servers) {
      return set(BOOTSTRAP_SERVERS, servers);
    }

    public Builder schemaRegistryUrl(String url) {
      return set(SCHEMA_REGISTRY_URL, url);
    }

    public Builder kafkaTimeouts(Duration maxBlock, Duration deliveryTimeout) {
      set(MAX_BLOCK_MS, Long.toString(maxBlock.toMillis()));
      return set(DELIVERY_TIMEOUT_MS, Long.toString(deliveryTimeout.toMillis()));
    }

    public Builder s3(String endpoint, String accessKey, String secretKey, String bucket) {
      set(S3_ENDPOINT, endpoint);
      set(S3_ACCESS_KEY, accessKey);
      set(S3_SECRET_KEY, secretKey);
      return set(S3_BUCKET, bucket);
    }

    public Builder apiKeysFile(Path file) {
      return set(API_KEYS_FILE, file.toString());
    }

    public Builder apiKeys(String inline) {
      return set(API_KEYS, inline);
    }

    public Builder rateLimit(double perSecond, int burst) {
      set(RATE_PER_SECOND, Double.toString(perSecond));
      return set(RATE_BURST, Integer.toString(burst));
    }

    public Builder maxInFlight(long renders) {
      return set(MAX_IN_FLIGHT, Long.toString(renders));
    }

    public Builder bodyMaxBytes(long bytes) {
      return set(BODY_MAX_BYTES, Long.toString(bytes));
    }

    /**
     * Slow-client limits: {@code idle} without any byte closes a connection, {@code header} is the
     * longest a new connection may take to send its first request head, {@code
     * minBodyBytesPerSecond} the least a body must average once it took longer than {@code header}.
     */
    public Builder httpTimeouts(Duration idle, Duration header, long minBodyBytesPerSecond) {
      set(HTTP_IDLE_TIMEOUT, Durations.format(idle));
      set(HTTP_HEADER_TIMEOUT, Durations.format(header));
      return set(HTTP_MIN_BODY_RATE, Long.toString(minBodyBytesPerSecond));
    }

    public Builder batchLimits(int maxRows, long maxBytes) {
      set(BATCH_MAX_ROWS, Integer.toString(maxRows));
      return set(BATCH_MAX_BYTES, Long.toString(maxBytes));
    }

    /** Renders whose lineage events the lineage view keeps. */
    public Builder lineageMaxRenders(int renders) {
      return set(LINEAGE_MAX_RENDERS, Integer.toString(renders));
    }

    public Builder webhooks(boolean enabled, Duration initialBackoff, Duration retryFor) {
      set(WEBHOOKS_ENABLED, Boolean.toString(enabled));
      set(WEBHOOK_INITIAL_BACKOFF, Durations.format(initialBackoff));
      return set(WEBHOOK_RETRY_FOR, Durations.format(retryFor));
    }

    /** Lets {@code callbackUrl}s use http and reach these hosts or ranges (test receivers). */
    public Builder webhookAllow(boolean http, String hostsAndRanges) {
      set(WEBHOOK_ALLOW_HTTP, Boolean.toString(http));
      return set(WEBHOOK_ALLOW_HOSTS, hostsAndRanges);
    }

    /**
     * @throws dev.reelflow.config.ConfigException naming the setting whose value cannot be used
     */
    public IngestConfig build() {
      return new IngestConfig(SPEC.load(null, Map.of(), values));
    }
  }
}
