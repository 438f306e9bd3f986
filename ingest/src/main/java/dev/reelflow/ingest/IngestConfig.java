package dev.reelflow.ingest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;

/**
 * Immutable configuration of one ingest process, in the style of Kafka client configs: every key is
 * documented below with its default, values come from a properties file, then environment variables
 * ({@code REELFLOW_} + the key upper-cased with dots as underscores, e.g. {@code
 * REELFLOW_KAFKA_BOOTSTRAP_SERVERS}), then the typed builder.
 *
 * <table>
 *   <caption>Keys</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>ingest.host</td><td>0.0.0.0</td><td>address the HTTP server binds</td></tr>
 *   <tr><td>ingest.port</td><td>8080</td><td>HTTP port; 0 picks a free one</td></tr>
 *   <tr><td>ingest.instance.id</td><td>random</td><td>names this instance (transactional ids)</td></tr>
 *   <tr><td>kafka.bootstrap.servers</td><td>localhost:9092</td><td>Kafka brokers</td></tr>
 *   <tr><td>schema.registry.url</td><td>http://localhost:8081</td><td>schema registry</td></tr>
 *   <tr><td>kafka.max.block.ms</td><td>5000</td><td>longest a send may wait for metadata or
 *       buffer space before the request answers 503</td></tr>
 *   <tr><td>kafka.delivery.timeout.ms</td><td>15000</td><td>longest a record may wait for the
 *       broker's acknowledgement before the request answers 503</td></tr>
 *   <tr><td>kafka.transactional.producers</td><td>2</td><td>batches published concurrently,
 *       each in its own Kafka transaction</td></tr>
 *   <tr><td>s3.endpoint</td><td>(none)</td><td>S3 endpoint for presigned output URLs; without it
 *       outputs are shown as object keys</td></tr>
 *   <tr><td>s3.access.key / s3.secret.key</td><td>(none)</td><td>S3 credentials</td></tr>
 *   <tr><td>s3.bucket</td><td>reelflow</td><td>render bucket</td></tr>
 *   <tr><td>s3.presign.ttl</td><td>PT1H</td><td>validity of presigned URLs</td></tr>
 *   <tr><td>s3.read.timeout</td><td>PT5S</td><td>longest a read from the store (a render's
 *       manifest) may take, retries of an unavailable endpoint included, before the request
 *       answers 503</td></tr>
 *   <tr><td>ingest.api.keys.file</td><td>(none)</td><td>JSON file of hashed API keys per tenant
 *       ({@link ApiKeys})</td></tr>
 *   <tr><td>ingest.api.keys</td><td>(none)</td><td>inline keys: {@code
 *       tenant:sha256hex[:webhookSecret]} separated by commas</td></tr>
 *   <tr><td>ingest.rate.limit.per.second</td><td>50</td><td>requests per second per tenant</td></tr>
 *   <tr><td>ingest.rate.limit.burst</td><td>100</td><td>token bucket size per tenant</td></tr>
 *   <tr><td>ingest.quota.max.in.flight</td><td>100000</td><td>renders per tenant not yet in a
 *       final state</td></tr>
 *   <tr><td>ingest.body.max.bytes</td><td>262144</td><td>largest single-render or schedule body</td></tr>
 *   <tr><td>ingest.batch.max.rows</td><td>100000</td><td>most rows in one batch</td></tr>
 *   <tr><td>ingest.batch.max.bytes</td><td>67108864</td><td>largest batch body</td></tr>
 *   <tr><td>ingest.http.idle.timeout</td><td>PT30S</td><td>a connection on which nothing
 *       arrives for this long is closed (a request waiting for its body answers 408 first)</td></tr>
 *   <tr><td>ingest.http.header.timeout</td><td>PT10S</td><td>a new connection must have sent a
 *       complete request head (request line and headers) within this time, else it is closed
 *       without an answer: a client trickling its headers (slowloris) cannot hold a connection
 *       open</td></tr>
 *   <tr><td>ingest.http.min.body.rate</td><td>1024</td><td>bytes per second a request body
 *       must average once it has taken longer than ingest.http.header.timeout, else the request
 *       answers 408 and the connection is closed: a client trickling its body cannot hold a
 *       request thread</td></tr>
 *   <tr><td>ingest.webhooks.enabled</td><td>true</td><td>deliver webhooks from this instance</td></tr>
 *   <tr><td>ingest.webhook.initial.backoff</td><td>PT1S</td><td>first retry delay (doubles)</td></tr>
 *   <tr><td>ingest.webhook.max.backoff</td><td>PT10M</td><td>longest retry delay</td></tr>
 *   <tr><td>ingest.webhook.retry.for</td><td>PT2H</td><td>how long a delivery is retried</td></tr>
 *   <tr><td>ingest.webhook.timeout</td><td>PT10S</td><td>HTTP timeout of one attempt</td></tr>
 *   <tr><td>ingest.webhook.queue.capacity</td><td>10000</td><td>pending deliveries one instance
 *       holds; beyond it the instance stops reading new state changes (they wait in render.status,
 *       nothing is dropped)</td></tr>
 *   <tr><td>ingest.webhook.group</td><td>reelflow-ingest-webhooks</td><td>consumer group of the
 *       instances that deliver webhooks: each render.status partition's deliveries belong to one
 *       member at a time</td></tr>
 *   <tr><td>ingest.webhook.allow.http</td><td>false</td><td>accept http {@code callbackUrl}s
 *       besides https: a test override, never for production</td></tr>
 *   <tr><td>ingest.webhook.allow.hosts</td><td>(none)</td><td>hosts and address ranges a {@code
 *       callbackUrl} may reach although the SSRF rules refuse them (the local stack's test
 *       receivers)</td></tr>
 *   <tr><td>ingest.webhook.deny.hosts</td><td>(none)</td><td>more hosts and address ranges a
 *       {@code callbackUrl} must never reach (the hosts of kafka.bootstrap.servers,
 *       schema.registry.url and s3.endpoint are always denied)</td></tr>
 *   <tr><td>ingest.lineage.max.renders</td><td>2000</td><td>renders whose OpenLineage events the
 *       lineage view keeps (those with the most recent events; about 11 KB of JSON for an
 *       upscaled render, so some 22 MB at the default); older ones answer 404 "evicted"</td></tr>
 *   <tr><td>ingest.image.max.bytes</td><td>10485760</td><td>largest reference image of an
 *       image-to-video render (encoded; at most 16 MiB); a single-render body may exceed
 *       ingest.body.max.bytes by the base64 of one such image</td></tr>
 *   <tr><td>ingest.image.allow.http</td><td>false</td><td>accept http {@code imageUrl}s besides
 *       https: a test override, never for production</td></tr>
 *   <tr><td>ingest.image.allow.hosts</td><td>(none)</td><td>hosts and address ranges (comma
 *       separated, e.g. {@code 127.0.0.1,images.test}) an {@code imageUrl} may name although the
 *       SSRF rules refuse them (the local stack's test servers)</td></tr>
 *   <tr><td>ingest.image.deny.hosts</td><td>(none)</td><td>more hosts and address ranges an
 *       {@code imageUrl} must never name (the hosts of kafka.bootstrap.servers,
 *       schema.registry.url and s3.endpoint are always denied)</td></tr>
 *   <tr><td>ingest.prompt.model.dir</td><td>(none)</td><td>the checkpoint folder the base pool
 *       renders with (its {@code text_encoder/llm/tokenizer.json}; a folder holding a {@code
 *       tokenizer.json} also works): {@code prompt} and {@code negativePrompt} are counted in that
 *       tokenizer's tokens through the official template and refused with a 422 when the text
 *       encoder cannot take them. Without it only the 4,000-character bound applies and the base
 *       worker fails such a render (BAD_PARAMETERS)</td></tr>
 *   <tr><td>ingest.console.enabled</td><td>true</td><td>serve classpath {@code /console} at
 *       {@code /console}</td></tr>
 *   <tr><td>topic.requests, topic.commands, topic.status, topic.schedules, topic.lineage</td>
 *       <td>render.*</td>
 *       <td>topic names</td></tr>
 *   <tr><td>topic.idempotency</td><td>render.idempotency</td><td>compacted topic of used
 *       Idempotency-Keys (ingest-private)</td></tr>
 *   <tr><td>topic.webhooks</td><td>render.webhooks</td><td>compacted topic of pending webhook
 *       deliveries and their retry schedule, partitioned like render.status</td></tr>
 *   <tr><td>topic.dlq</td><td>render.dlq</td><td>where deliveries that were refused or ran out
 *       of retries go</td></tr>
 * </table>
 */
public final class IngestConfig {

  public static final String HOST = "ingest.host";
  public static final String PORT = "ingest.port";
  public static final String INSTANCE_ID = "ingest.instance.id";
  public static final String BOOTSTRAP_SERVERS = "kafka.bootstrap.servers";
  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  public static final String MAX_BLOCK_MS = "kafka.max.block.ms";
  public static final String DELIVERY_TIMEOUT_MS = "kafka.delivery.timeout.ms";
  public static final String TRANSACTIONAL_PRODUCERS = "kafka.transactional.producers";
  public static final String S3_ENDPOINT = "s3.endpoint";
  public static final String S3_ACCESS_KEY = "s3.access.key";
  public static final String S3_SECRET_KEY = "s3.secret.key";
  public static final String S3_BUCKET = "s3.bucket";
  public static final String S3_PRESIGN_TTL = "s3.presign.ttl";
  public static final String S3_READ_TIMEOUT = "s3.read.timeout";
  public static final String API_KEYS_FILE = "ingest.api.keys.file";
  public static final String API_KEYS = "ingest.api.keys";
  public static final String RATE_PER_SECOND = "ingest.rate.limit.per.second";
  public static final String RATE_BURST = "ingest.rate.limit.burst";
  public static final String MAX_IN_FLIGHT = "ingest.quota.max.in.flight";
  public static final String BODY_MAX_BYTES = "ingest.body.max.bytes";
  public static final String BATCH_MAX_ROWS = "ingest.batch.max.rows";
  public static final String BATCH_MAX_BYTES = "ingest.batch.max.bytes";
  public static final String HTTP_IDLE_TIMEOUT = "ingest.http.idle.timeout";
  public static final String HTTP_HEADER_TIMEOUT = "ingest.http.header.timeout";
  public static final String HTTP_MIN_BODY_RATE = "ingest.http.min.body.rate";
  public static final String WEBHOOKS_ENABLED = "ingest.webhooks.enabled";
  public static final String WEBHOOK_INITIAL_BACKOFF = "ingest.webhook.initial.backoff";
  public static final String WEBHOOK_MAX_BACKOFF = "ingest.webhook.max.backoff";
  public static final String WEBHOOK_RETRY_FOR = "ingest.webhook.retry.for";
  public static final String WEBHOOK_TIMEOUT = "ingest.webhook.timeout";
  public static final String WEBHOOK_QUEUE_CAPACITY = "ingest.webhook.queue.capacity";
  public static final String WEBHOOK_GROUP = "ingest.webhook.group";
  public static final String WEBHOOK_ALLOW_HTTP = "ingest.webhook.allow.http";
  public static final String WEBHOOK_ALLOW_HOSTS = "ingest.webhook.allow.hosts";
  public static final String WEBHOOK_DENY_HOSTS = "ingest.webhook.deny.hosts";
  public static final String LINEAGE_MAX_RENDERS = "ingest.lineage.max.renders";
  public static final String IMAGE_MAX_BYTES = "ingest.image.max.bytes";
  public static final String IMAGE_ALLOW_HTTP = "ingest.image.allow.http";
  public static final String IMAGE_ALLOW_HOSTS = "ingest.image.allow.hosts";
  public static final String IMAGE_DENY_HOSTS = "ingest.image.deny.hosts";
  public static final String PROMPT_MODEL_DIR = "ingest.prompt.model.dir";
  public static final String CONSOLE_ENABLED = "ingest.console.enabled";
  public static final String TOPIC_REQUESTS = "topic.requests";
  public static final String TOPIC_COMMANDS = "topic.commands";
  public static final String TOPIC_STATUS = "topic.status";
  public static final String TOPIC_SCHEDULES = "topic.schedules";
  public static final String TOPIC_LINEAGE = "topic.lineage";
  public static final String TOPIC_IDEMPOTENCY = "topic.idempotency";
  public static final String TOPIC_WEBHOOKS = "topic.webhooks";
  public static final String TOPIC_DLQ = "topic.dlq";

  private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put(HOST, "0.0.0.0");
    DEFAULTS.put(PORT, "8080");
    DEFAULTS.put(INSTANCE_ID, "");
    DEFAULTS.put(BOOTSTRAP_SERVERS, "localhost:9092");
    DEFAULTS.put(SCHEMA_REGISTRY_URL, "http://localhost:8081");
    DEFAULTS.put(MAX_BLOCK_MS, "5000");
    DEFAULTS.put(DELIVERY_TIMEOUT_MS, "15000");
    DEFAULTS.put(TRANSACTIONAL_PRODUCERS, "2");
    DEFAULTS.put(S3_ENDPOINT, "");
    DEFAULTS.put(S3_ACCESS_KEY, "");
    DEFAULTS.put(S3_SECRET_KEY, "");
    DEFAULTS.put(S3_BUCKET, "reelflow");
    DEFAULTS.put(S3_PRESIGN_TTL, "PT1H");
    DEFAULTS.put(S3_READ_TIMEOUT, "PT5S");
    DEFAULTS.put(API_KEYS_FILE, "");
    DEFAULTS.put(API_KEYS, "");
    DEFAULTS.put(RATE_PER_SECOND, "50");
    DEFAULTS.put(RATE_BURST, "100");
    DEFAULTS.put(MAX_IN_FLIGHT, "100000");
    DEFAULTS.put(BODY_MAX_BYTES, "262144");
    DEFAULTS.put(BATCH_MAX_ROWS, "100000");
    DEFAULTS.put(BATCH_MAX_BYTES, Long.toString(64L << 20));
    DEFAULTS.put(HTTP_IDLE_TIMEOUT, "PT30S");
    DEFAULTS.put(HTTP_HEADER_TIMEOUT, "PT10S");
    DEFAULTS.put(HTTP_MIN_BODY_RATE, "1024");
    DEFAULTS.put(WEBHOOKS_ENABLED, "true");
    DEFAULTS.put(WEBHOOK_INITIAL_BACKOFF, "PT1S");
    DEFAULTS.put(WEBHOOK_MAX_BACKOFF, "PT10M");
    DEFAULTS.put(WEBHOOK_RETRY_FOR, "PT2H");
    DEFAULTS.put(WEBHOOK_TIMEOUT, "PT10S");
    DEFAULTS.put(WEBHOOK_QUEUE_CAPACITY, "10000");
    DEFAULTS.put(WEBHOOK_GROUP, "reelflow-ingest-webhooks");
    DEFAULTS.put(WEBHOOK_ALLOW_HTTP, "false");
    DEFAULTS.put(WEBHOOK_ALLOW_HOSTS, "");
    DEFAULTS.put(WEBHOOK_DENY_HOSTS, "");
    DEFAULTS.put(LINEAGE_MAX_RENDERS, "2000");
    DEFAULTS.put(IMAGE_MAX_BYTES, Long.toString(10L << 20));
    DEFAULTS.put(IMAGE_ALLOW_HTTP, "false");
    DEFAULTS.put(IMAGE_ALLOW_HOSTS, "");
    DEFAULTS.put(IMAGE_DENY_HOSTS, "");
    DEFAULTS.put(PROMPT_MODEL_DIR, "");
    DEFAULTS.put(CONSOLE_ENABLED, "true");
    DEFAULTS.put(TOPIC_REQUESTS, "render.requests");
    DEFAULTS.put(TOPIC_COMMANDS, "render.commands");
    DEFAULTS.put(TOPIC_STATUS, "render.status");
    DEFAULTS.put(TOPIC_SCHEDULES, "render.schedules");
    DEFAULTS.put(TOPIC_LINEAGE, "render.lineage");
    DEFAULTS.put(TOPIC_IDEMPOTENCY, "render.idempotency");
    DEFAULTS.put(TOPIC_WEBHOOKS, "render.webhooks");
    DEFAULTS.put(TOPIC_DLQ, "render.dlq");
  }

  private final Map<String, String> values;

  private IngestConfig(Map<String, String> values) {
    Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
    v.putAll(values);
    if (v.get(INSTANCE_ID).isBlank()) {
      v.put(INSTANCE_ID, "ingest-" + UUID.randomUUID().toString().substring(0, 8));
    }
    this.values = java.util.Collections.unmodifiableMap(v);
    validate();
  }

  /** All keys with their defaults, in documentation order. */
  public static Map<String, String> defaults() {
    return java.util.Collections.unmodifiableMap(DEFAULTS);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads a properties file (if given and present) and then the environment overrides. Unknown keys
   * are rejected so that a typo does not silently fall back to a default.
   */
  public static IngestConfig load(Path propertiesFile, Map<String, String> env) throws IOException {
    Builder b = builder();
    if (propertiesFile != null && Files.exists(propertiesFile)) {
      Properties p = new Properties();
      try (InputStream in = Files.newInputStream(propertiesFile)) {
        p.load(in);
      }
      for (String k : p.stringPropertyNames()) {
        b.set(k, p.getProperty(k));
      }
    }
    for (String k : DEFAULTS.keySet()) {
      String envName = "REELFLOW_" + k.toUpperCase(Locale.ROOT).replace('.', '_');
      if (env.containsKey(envName)) {
        b.set(k, env.get(envName));
      }
    }
    return b.build();
  }

  private void validate() {
    int port = intValue(PORT);
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(PORT + " must be 0..65535, got " + port);
    }
    for (String k :
        new String[] {
          MAX_BLOCK_MS,
          DELIVERY_TIMEOUT_MS,
          TRANSACTIONAL_PRODUCERS,
          RATE_BURST,
          MAX_IN_FLIGHT,
          BODY_MAX_BYTES,
          BATCH_MAX_ROWS,
          BATCH_MAX_BYTES,
          WEBHOOK_QUEUE_CAPACITY,
          LINEAGE_MAX_RENDERS,
          HTTP_MIN_BODY_RATE
        }) {
      if (longValue(k) <= 0) {
        throw new IllegalArgumentException(k + " must be positive, got " + values.get(k));
      }
    }
    if (longValue(LINEAGE_MAX_RENDERS) > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(LINEAGE_MAX_RENDERS + " is too large");
    }
    if (doubleValue(RATE_PER_SECOND) <= 0) {
      throw new IllegalArgumentException(RATE_PER_SECOND + " must be positive");
    }
    for (String k :
        new String[] {
          S3_PRESIGN_TTL,
          S3_READ_TIMEOUT,
          WEBHOOK_INITIAL_BACKOFF,
          WEBHOOK_MAX_BACKOFF,
          WEBHOOK_RETRY_FOR,
          WEBHOOK_TIMEOUT
        }) {
      duration(k);
    }
    long image = longValue(IMAGE_MAX_BYTES);
    if (image < 1 || image > (16L << 20)) {
      throw new IllegalArgumentException(
          IMAGE_MAX_BYTES + " must be in 1.." + (16L << 20) + " (16 MiB), got " + image);
    }
    for (String k : new String[] {IMAGE_ALLOW_HTTP, WEBHOOK_ALLOW_HTTP, WEBHOOKS_ENABLED}) {
      if (!get(k).trim().matches("(?i)true|false")) {
        throw new IllegalArgumentException(k + " must be true or false");
      }
    }
    addressPolicy(IMAGE_ALLOW_HTTP, IMAGE_ALLOW_HOSTS, IMAGE_DENY_HOSTS);
    addressPolicy(WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOW_HOSTS, WEBHOOK_DENY_HOSTS);
    for (String k : new String[] {S3_READ_TIMEOUT, HTTP_IDLE_TIMEOUT, HTTP_HEADER_TIMEOUT}) {
      Duration d = duration(k);
      if (d.isZero() || d.isNegative()) {
        throw new IllegalArgumentException(k + " must be positive, got " + d);
      }
    }
  }

  public String get(String key) {
    String v = values.get(key);
    if (v == null) {
      throw new IllegalArgumentException("Unknown ingest config key '" + key + "'");
    }
    return v;
  }

  public int intValue(String key) {
    return (int) longValue(key);
  }

  public long longValue(String key) {
    try {
      return Long.parseLong(get(key).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a whole number, got '" + get(key) + "'");
    }
  }

  public double doubleValue(String key) {
    try {
      return Double.parseDouble(get(key).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a number, got '" + get(key) + "'");
    }
  }

  public boolean booleanValue(String key) {
    return Boolean.parseBoolean(get(key).trim());
  }

  public Duration duration(String key) {
    try {
      return Duration.parse(get(key).trim());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          key + " must be an ISO-8601 duration such as PT30S, got '" + get(key) + "'");
    }
  }

  /**
   * The SSRF rules for URLs a client gives ({@code imageUrl}: the {@code ingest.image.*} keys,
   * {@code callbackUrl}: the {@code ingest.webhook.*} keys): the operator's allow and deny lists,
   * and the pipeline's own services (Kafka, the schema registry, the object store) denied.
   *
   * @throws IllegalArgumentException naming the key of an entry that is no host or address range
   */
  public dev.reelflow.storage.input.AddressPolicy addressPolicy(
      String allowHttpKey, String allowHostsKey, String denyHostsKey) {
    dev.reelflow.storage.input.AddressPolicy.Builder b =
        dev.reelflow.storage.input.AddressPolicy.builder().allowHttp(booleanValue(allowHttpKey));
    try {
      b.allowAll(get(allowHostsKey));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(allowHostsKey + ": " + e.getMessage(), e);
    }
    try {
      b.denyAll(get(denyHostsKey));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(denyHostsKey + ": " + e.getMessage(), e);
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
    return intValue(PORT);
  }

  public String instanceId() {
    return get(INSTANCE_ID);
  }

  /** The configuration with secrets masked, one key per line, for the start-up log. */
  public String describe() {
    StringBuilder sb = new StringBuilder("ingest configuration:\n");
    for (Map.Entry<String, String> e : values.entrySet()) {
      sb.append("  ").append(e.getKey()).append(" = ").append(masked(e.getKey(), e.getValue()));
      sb.append('\n');
    }
    return sb.toString();
  }

  private static String masked(String key, String value) {
    if (value.isEmpty()) {
      return "";
    }
    if (key.equals(S3_SECRET_KEY) || key.equals(S3_ACCESS_KEY)) {
      return "****";
    }
    if (key.equals(API_KEYS)) {
      // Inline entries hold hashes and webhook secrets: show only the tenants.
      StringBuilder sb = new StringBuilder();
      for (String entry : value.split(",")) {
        String tenant = entry.split(":", 2)[0].trim();
        sb.append(sb.length() == 0 ? "" : ",").append(tenant).append(":****");
      }
      return sb.toString();
    }
    return value;
  }

  @Override
  public String toString() {
    return describe();
  }

  /** Typed builder; every setter validates when {@link #build()} runs. */
  public static final class Builder {
    private final Map<String, String> values = new LinkedHashMap<>();

    private Builder() {}

    public Builder set(String key, String value) {
      if (!DEFAULTS.containsKey(key)) {
        throw new IllegalArgumentException(
            "Unknown ingest config key '" + key + "'; known keys: " + DEFAULTS.keySet());
      }
      values.put(key, Objects.requireNonNull(value, key));
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
      set(HTTP_IDLE_TIMEOUT, idle.toString());
      set(HTTP_HEADER_TIMEOUT, header.toString());
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
      set(WEBHOOK_INITIAL_BACKOFF, initialBackoff.toString());
      return set(WEBHOOK_RETRY_FOR, retryFor.toString());
    }

    /** Lets {@code callbackUrl}s use http and reach these hosts or ranges (test receivers). */
    public Builder webhookAllow(boolean http, String hostsAndRanges) {
      set(WEBHOOK_ALLOW_HTTP, Boolean.toString(http));
      return set(WEBHOOK_ALLOW_HOSTS, hostsAndRanges);
    }

    public IngestConfig build() {
      return new IngestConfig(values);
    }
  }
}
