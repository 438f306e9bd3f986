package dev.reelflow.orchestrator;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * Immutable configuration of the orchestrator job, in the style of the Kafka clients' configs:
 * every key is documented below with its default. Values come from code ({@link #builder()}), a
 * properties file and environment variables ({@link #load}); the environment wins over the file.
 * The environment variable of a key is {@code REELFLOW_} followed by the key upper-cased with
 * {@code .} and {@code -} replaced by {@code _}, e.g. {@code REELFLOW_KAFKA_BOOTSTRAP_SERVERS}.
 *
 * <p>Durations are ISO-8601 ({@code PT30S}) or a number with a unit ({@code 30s}, {@code 500ms},
 * {@code 5m}, {@code 2h}, {@code 7d}).
 */
public final class OrchestratorConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Kafka bootstrap servers. Default {@code localhost:9092}. */
  public static final String BOOTSTRAP_SERVERS = "kafka.bootstrap.servers";

  /** Schema registry URL (Confluent REST API). Default {@code http://localhost:8081}. */
  public static final String REGISTRY_URL = "schema.registry.url";

  /** Object store bucket the artifacts live in (lineage namespace). Default {@code reelflow}. */
  public static final String BUCKET = "storage.bucket";

  /**
   * S3 endpoint the job reads schedule sources (NDJSON row files) from; empty: schedules with a
   * {@code source} are dead-lettered. Default empty.
   */
  public static final String STORAGE_ENDPOINT = "storage.endpoint";

  /** Access key for {@link #STORAGE_ENDPOINT}. Default empty. */
  public static final String STORAGE_ACCESS_KEY = "storage.access-key";

  /** Secret key for {@link #STORAGE_ENDPOINT} (masked in logs). Default empty. */
  public static final String STORAGE_SECRET_KEY = "storage.secret-key";

  /** Region of {@link #STORAGE_ENDPOINT}. Default {@code us-east-1}. */
  public static final String STORAGE_REGION = "storage.region";

  /**
   * Most rows a schedule's source file may have; a larger file fires nothing and is dead-lettered
   * (a fire is all-or-nothing). Default {@code 50000}.
   */
  public static final String SCHEDULE_SOURCE_MAX_ROWS = "schedule.source-max-rows";

  /**
   * Expected duration of a base stage before any has been observed; a queued render whose deadline
   * is nearer than the expected remaining work ends EXPIRED before dispatch. Once stages complete,
   * the observed durations (per stage and resolution) take over. {@code 0s}: no estimate until one
   * is observed. Default {@code 0s}.
   */
  public static final String EXPECTED_BASE = "deadline.expected-base";

  /** As {@link #EXPECTED_BASE}, for the upscale stage. Default {@code 0s}. */
  public static final String EXPECTED_UPSCALE = "deadline.expected-upscale";

  /** Consumer group of the job's Kafka sources. Default {@code reelflow-orchestrator}. */
  public static final String GROUP_ID = "kafka.group.id";

  /**
   * Prefix of the Kafka transactional ids; must be unique per job on a cluster. Default {@code
   * reelflow-orchestrator}.
   */
  public static final String TRANSACTIONAL_ID_PREFIX = "kafka.transactional.id.prefix";

  /**
   * Kafka transaction timeout of the transactional sinks; must exceed the checkpoint interval and
   * not exceed the broker's {@code transaction.max.timeout.ms}. Default {@code 10m}.
   */
  public static final String TRANSACTION_TIMEOUT = "kafka.transaction.timeout";

  /**
   * Lease of a task: a running attempt is fenced and the next one queued when no heartbeat arrives
   * within it. Default {@code 4s}: four missed heartbeats at the workers' default 1 s interval, so
   * a killed worker's task is re-dispatched within about 5 s. Workers send heartbeats from a thread
   * of their own, so a long model load or a slow step does not stop them; only a frozen or dead
   * process does (a frozen one fences itself when it wakes). Raise it where worker JVMs can pause
   * for seconds (very large heaps) or the network to Kafka stalls for seconds.
   */
  public static final String LEASE = "task.lease";

  /**
   * The longest a lease is held past its end while the orchestrator's input looks stalled rather
   * than one worker dead: two or more attempts on different workers fell silent within the same
   * heartbeat interval and are all still silent (a Kafka broker outage or stall, not a worker
   * death; see {@link LeaseStallGuard}). When input resumes, every held lease gets one full lease
   * from then. Default {@code 30s}; {@code 0s} switches the guard off (every silent attempt is
   * fenced at its lease).
   */
  public static final String LEASE_STALL_HOLD = "task.lease.stall-hold";

  /** The longest {@link #LEASE} accepted. */
  static final Duration MAX_LEASE = Duration.ofDays(1);

  /** Attempts per stage before the render fails (1 = no retry). Default {@code 3}. */
  public static final String RETRY_MAX_ATTEMPTS = "retry.max-attempts";

  /** Backoff before the first retry. Default {@code 2s}. */
  public static final String RETRY_INITIAL_BACKOFF = "retry.initial-backoff";

  /** Upper bound of the exponential backoff. Default {@code 2m}. */
  public static final String RETRY_MAX_BACKOFF = "retry.max-backoff";

  /** Factor between two backoffs. Default {@code 2.0}. */
  public static final String RETRY_MULTIPLIER = "retry.multiplier";

  /** Delivery of render.tasks.*: {@code AT_LEAST_ONCE} or {@code EXACTLY_ONCE}. Default ALO. */
  public static final String DELIVERY_TASKS = "delivery.tasks";

  /**
   * Delivery of render.status, render.lineage and render.dlq: {@code EXACTLY_ONCE} or {@code
   * AT_LEAST_ONCE}. Default {@code EXACTLY_ONCE}.
   */
  public static final String DELIVERY_EVENTS = "delivery.events";

  /** Checkpoint interval. Default {@code 10s}. */
  public static final String CHECKPOINT_INTERVAL = "checkpoint.interval";

  /** Checkpoint directory (URI); empty keeps Flink's default. Default empty. */
  public static final String CHECKPOINT_DIR = "checkpoint.dir";

  /** State backend: {@code rocksdb} (large backlogs) or {@code hashmap}. Default rocksdb. */
  public static final String STATE_BACKEND = "state.backend";

  /** Parallelism of the job's operators. Default {@code 1}. */
  public static final String PARALLELISM = "parallelism";

  /** Minimum interval between two queue-position updates of one render. Default {@code 5s}. */
  public static final String POSITION_INTERVAL = "scheduler.position-interval";

  /**
   * Queue positions are exact for this many queued tasks per pool; beyond them, at most this many
   * estimated positions are published per position interval, in rotation. Default {@code 1000}.
   */
  public static final String EXACT_POSITIONS = "scheduler.exact-positions";

  /** Deficit-round-robin quantum, in tasks per tenant per round. Default {@code 1}. */
  public static final String DRR_QUANTUM = "scheduler.drr-quantum";

  /**
   * Deadlines within the same bucket count as equal when ordering, so tenants with similar
   * deadlines share by fair share. Default {@code 1m}.
   */
  public static final String DEADLINE_BUCKET = "scheduler.deadline-bucket";

  /** How long a finished render's state is kept (dedupe of late duplicates). Default {@code 7d}. */
  public static final String STATE_RETENTION = "state.retention";

  /**
   * Longest time a record waits in a network buffer between two operators; low values cut the
   * dispatch latency. Default {@code 10ms}.
   */
  public static final String BUFFER_TIMEOUT = "pipeline.buffer-timeout";

  /** Name of the Flink job. Default {@code reelflow-orchestrator}. */
  public static final String JOB_NAME = "job.name";

  private static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put(BOOTSTRAP_SERVERS, "localhost:9092");
    DEFAULTS.put(REGISTRY_URL, "http://localhost:8081");
    DEFAULTS.put(BUCKET, "reelflow");
    DEFAULTS.put(STORAGE_ENDPOINT, "");
    DEFAULTS.put(STORAGE_ACCESS_KEY, "");
    DEFAULTS.put(STORAGE_SECRET_KEY, "");
    DEFAULTS.put(STORAGE_REGION, "us-east-1");
    DEFAULTS.put(SCHEDULE_SOURCE_MAX_ROWS, "50000");
    DEFAULTS.put(EXPECTED_BASE, "0s");
    DEFAULTS.put(EXPECTED_UPSCALE, "0s");
    DEFAULTS.put(GROUP_ID, "reelflow-orchestrator");
    DEFAULTS.put(TRANSACTIONAL_ID_PREFIX, "reelflow-orchestrator");
    DEFAULTS.put(TRANSACTION_TIMEOUT, "10m");
    DEFAULTS.put(LEASE, "4s");
    DEFAULTS.put(LEASE_STALL_HOLD, "30s");
    DEFAULTS.put(RETRY_MAX_ATTEMPTS, "3");
    DEFAULTS.put(RETRY_INITIAL_BACKOFF, "2s");
    DEFAULTS.put(RETRY_MAX_BACKOFF, "2m");
    DEFAULTS.put(RETRY_MULTIPLIER, "2.0");
    DEFAULTS.put(DELIVERY_TASKS, "AT_LEAST_ONCE");
    DEFAULTS.put(DELIVERY_EVENTS, "EXACTLY_ONCE");
    DEFAULTS.put(CHECKPOINT_INTERVAL, "10s");
    DEFAULTS.put(CHECKPOINT_DIR, "");
    DEFAULTS.put(STATE_BACKEND, "rocksdb");
    DEFAULTS.put(PARALLELISM, "1");
    DEFAULTS.put(POSITION_INTERVAL, "5s");
    DEFAULTS.put(EXACT_POSITIONS, "1000");
    DEFAULTS.put(DRR_QUANTUM, "1");
    DEFAULTS.put(DEADLINE_BUCKET, "1m");
    DEFAULTS.put(STATE_RETENTION, "7d");
    DEFAULTS.put(BUFFER_TIMEOUT, "10ms");
    DEFAULTS.put(JOB_NAME, "reelflow-orchestrator");
  }

  private final String bootstrapServers;
  private final String registryUrl;
  private final String bucket;
  private final StorageSettings storage;
  private final int scheduleSourceMaxRows;
  private final Duration expectedBase;
  private final Duration expectedUpscale;
  private final String groupId;
  private final String transactionalIdPrefix;
  private final Duration transactionTimeout;
  private final Duration lease;
  private final Duration leaseStallHold;
  private final RetryPolicy retry;
  private final DeliveryGuarantee taskDelivery;
  private final DeliveryGuarantee eventDelivery;
  private final Duration checkpointInterval;
  private final String checkpointDir;
  private final String stateBackend;
  private final int parallelism;
  private final Duration positionInterval;
  private final int exactPositions;
  private final int drrQuantum;
  private final Duration deadlineBucket;
  private final Duration stateRetention;
  private final Duration bufferTimeout;
  private final String jobName;

  private OrchestratorConfig(Map<String, String> v) {
    for (String key : v.keySet()) {
      if (!DEFAULTS.containsKey(key)) {
        throw new OrchestratorConfigException(
            "Unknown orchestrator config key '" + key + "'; known keys: " + DEFAULTS.keySet());
      }
    }
    Map<String, String> all = new LinkedHashMap<>(DEFAULTS);
    all.putAll(v);
    this.bootstrapServers = nonBlank(all, BOOTSTRAP_SERVERS);
    this.registryUrl = nonBlank(all, REGISTRY_URL);
    this.bucket = nonBlank(all, BUCKET);
    this.storage =
        new StorageSettings(
            all.get(STORAGE_ENDPOINT).trim(),
            all.get(STORAGE_ACCESS_KEY).trim(),
            all.get(STORAGE_SECRET_KEY).trim(),
            nonBlank(all, STORAGE_REGION),
            bucket);
    this.scheduleSourceMaxRows = positiveInt(all, SCHEDULE_SOURCE_MAX_ROWS);
    this.expectedBase = nonNegative(all, EXPECTED_BASE);
    this.expectedUpscale = nonNegative(all, EXPECTED_UPSCALE);
    this.groupId = nonBlank(all, GROUP_ID);
    this.transactionalIdPrefix = nonBlank(all, TRANSACTIONAL_ID_PREFIX);
    this.transactionTimeout = positive(all, TRANSACTION_TIMEOUT);
    this.lease = positive(all, LEASE);
    if (lease.compareTo(MAX_LEASE) > 0) {
      // A lease is a heartbeat timeout; the cap also keeps RenderTask.leaseMillis JavaScript-safe.
      throw new OrchestratorConfigException(
          LEASE + " must be at most " + MAX_LEASE.toHours() + "h, got '" + all.get(LEASE) + "'");
    }
    this.leaseStallHold = nonNegative(all, LEASE_STALL_HOLD);
    if (leaseStallHold.compareTo(MAX_LEASE) > 0) {
      throw new OrchestratorConfigException(
          LEASE_STALL_HOLD
              + " must be at most "
              + MAX_LEASE.toHours()
              + "h, got '"
              + all.get(LEASE_STALL_HOLD)
              + "'");
    }
    int maxAttempts = positiveInt(all, RETRY_MAX_ATTEMPTS);
    double multiplier;
    try {
      multiplier = Double.parseDouble(all.get(RETRY_MULTIPLIER).trim());
    } catch (NumberFormatException e) {
      throw new OrchestratorConfigException(
          RETRY_MULTIPLIER + " must be a number >= 1, got '" + all.get(RETRY_MULTIPLIER) + "'");
    }
    if (multiplier < 1.0) {
      throw new OrchestratorConfigException(RETRY_MULTIPLIER + " must be >= 1, got " + multiplier);
    }
    this.retry =
        new RetryPolicy(
            maxAttempts,
            positive(all, RETRY_INITIAL_BACKOFF).toMillis(),
            positive(all, RETRY_MAX_BACKOFF).toMillis(),
            multiplier);
    this.taskDelivery = delivery(all, DELIVERY_TASKS);
    this.eventDelivery = delivery(all, DELIVERY_EVENTS);
    this.checkpointInterval = positive(all, CHECKPOINT_INTERVAL);
    this.checkpointDir = all.get(CHECKPOINT_DIR).trim();
    String backend = all.get(STATE_BACKEND).trim().toLowerCase(Locale.ROOT);
    if (!backend.equals("rocksdb") && !backend.equals("hashmap")) {
      throw new OrchestratorConfigException(
          STATE_BACKEND + " must be rocksdb or hashmap, got '" + backend + "'");
    }
    this.stateBackend = backend;
    this.parallelism = positiveInt(all, PARALLELISM);
    this.positionInterval = positive(all, POSITION_INTERVAL);
    this.exactPositions = positiveInt(all, EXACT_POSITIONS);
    this.drrQuantum = positiveInt(all, DRR_QUANTUM);
    this.deadlineBucket = positive(all, DEADLINE_BUCKET);
    this.stateRetention = positive(all, STATE_RETENTION);
    this.bufferTimeout = positive(all, BUFFER_TIMEOUT);
    this.jobName = nonBlank(all, JOB_NAME);
    if (taskDelivery == DeliveryGuarantee.EXACTLY_ONCE
        && lease.compareTo(checkpointInterval.multipliedBy(2)) <= 0) {
      // Transactional task records reach the workers only at a checkpoint, and a worker fences a
      // task whose lease ran out before it started: the lease must cover that wait.
      throw new OrchestratorConfigException(
          LEASE
              + " ("
              + lease
              + ") must be more than twice "
              + CHECKPOINT_INTERVAL
              + " ("
              + checkpointInterval
              + ") when "
              + DELIVERY_TASKS
              + " is EXACTLY_ONCE: task records become visible to the workers only at a"
              + " checkpoint; raise the lease, shorten the interval, or use AT_LEAST_ONCE tasks"
              + " (the default; the workers drop duplicates)");
    }
    if (eventDelivery == DeliveryGuarantee.EXACTLY_ONCE
        && transactionTimeout.compareTo(checkpointInterval.multipliedBy(2)) < 0) {
      throw new OrchestratorConfigException(
          TRANSACTION_TIMEOUT
              + " ("
              + transactionTimeout
              + ") must be at least twice "
              + CHECKPOINT_INTERVAL
              + " ("
              + checkpointInterval
              + "): a transaction stays open for a whole checkpoint interval; raise the timeout"
              + " or shorten the interval");
    }
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** The defaults. */
  public static OrchestratorConfig defaults() {
    return builder().build();
  }

  /**
   * Reads the properties file (when not null) and then the environment.
   *
   * @param file a {@code .properties} file with the keys above, or null
   * @param env the environment, usually {@code System.getenv()}
   */
  public static OrchestratorConfig load(Path file, Map<String, String> env) {
    Builder b = builder();
    if (file != null) {
      Properties p = new Properties();
      try (InputStream in = Files.newInputStream(file)) {
        p.load(in);
      } catch (IOException e) {
        throw new OrchestratorConfigException(
            "Cannot read orchestrator config file " + file + ": " + e.getMessage(), e);
      }
      for (String name : p.stringPropertyNames()) {
        b.set(name, p.getProperty(name));
      }
    }
    for (String key : DEFAULTS.keySet()) {
      String value = env.get(envName(key));
      if (value != null) {
        b.set(key, value);
      }
    }
    return b.build();
  }

  /** Environment variable that overrides {@code key}. */
  public static String envName(String key) {
    return "REELFLOW_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String registryUrl() {
    return registryUrl;
  }

  public String bucket() {
    return bucket;
  }

  /** Where schedule sources are read from. */
  public StorageSettings storage() {
    return storage;
  }

  public int scheduleSourceMaxRows() {
    return scheduleSourceMaxRows;
  }

  /** The configured expected duration of a base stage; zero when none. */
  public Duration expectedBase() {
    return expectedBase;
  }

  /** The configured expected duration of an upscale stage; zero when none. */
  public Duration expectedUpscale() {
    return expectedUpscale;
  }

  public String groupId() {
    return groupId;
  }

  public String transactionalIdPrefix() {
    return transactionalIdPrefix;
  }

  public Duration transactionTimeout() {
    return transactionTimeout;
  }

  public Duration lease() {
    return lease;
  }

  /** {@link #LEASE_STALL_HOLD}: zero when the stall guard is off. */
  public Duration leaseStallHold() {
    return leaseStallHold;
  }

  public RetryPolicy retry() {
    return retry;
  }

  public DeliveryGuarantee taskDelivery() {
    return taskDelivery;
  }

  public DeliveryGuarantee eventDelivery() {
    return eventDelivery;
  }

  public Duration checkpointInterval() {
    return checkpointInterval;
  }

  public String checkpointDir() {
    return checkpointDir;
  }

  public String stateBackend() {
    return stateBackend;
  }

  public int parallelism() {
    return parallelism;
  }

  public Duration positionInterval() {
    return positionInterval;
  }

  public int exactPositions() {
    return exactPositions;
  }

  public int drrQuantum() {
    return drrQuantum;
  }

  public Duration deadlineBucket() {
    return deadlineBucket;
  }

  public Duration stateRetention() {
    return stateRetention;
  }

  public String jobName() {
    return jobName;
  }

  public Duration bufferTimeout() {
    return bufferTimeout;
  }

  /** Every key with its effective value, one per line, for the start-up log. */
  public String describe() {
    Map<String, String> m = new TreeMap<>();
    m.put(BOOTSTRAP_SERVERS, bootstrapServers);
    m.put(REGISTRY_URL, registryUrl);
    m.put(BUCKET, bucket);
    m.put(STORAGE_ENDPOINT, storage.endpoint());
    m.put(STORAGE_ACCESS_KEY, storage.accessKey());
    m.put(STORAGE_SECRET_KEY, storage.secretKey().isEmpty() ? "" : "******");
    m.put(STORAGE_REGION, storage.region());
    m.put(SCHEDULE_SOURCE_MAX_ROWS, Integer.toString(scheduleSourceMaxRows));
    m.put(EXPECTED_BASE, expectedBase.toString());
    m.put(EXPECTED_UPSCALE, expectedUpscale.toString());
    m.put(GROUP_ID, groupId);
    m.put(TRANSACTIONAL_ID_PREFIX, transactionalIdPrefix);
    m.put(TRANSACTION_TIMEOUT, transactionTimeout.toString());
    m.put(LEASE, lease.toString());
    m.put(LEASE_STALL_HOLD, leaseStallHold.toString());
    m.put(RETRY_MAX_ATTEMPTS, Integer.toString(retry.maxAttempts()));
    m.put(RETRY_INITIAL_BACKOFF, Duration.ofMillis(retry.initialBackoffMillis()).toString());
    m.put(RETRY_MAX_BACKOFF, Duration.ofMillis(retry.maxBackoffMillis()).toString());
    m.put(RETRY_MULTIPLIER, Double.toString(retry.multiplier()));
    m.put(DELIVERY_TASKS, taskDelivery.name());
    m.put(DELIVERY_EVENTS, eventDelivery.name());
    m.put(CHECKPOINT_INTERVAL, checkpointInterval.toString());
    m.put(CHECKPOINT_DIR, checkpointDir);
    m.put(STATE_BACKEND, stateBackend);
    m.put(PARALLELISM, Integer.toString(parallelism));
    m.put(POSITION_INTERVAL, positionInterval.toString());
    m.put(EXACT_POSITIONS, Integer.toString(exactPositions));
    m.put(DRR_QUANTUM, Integer.toString(drrQuantum));
    m.put(DEADLINE_BUCKET, deadlineBucket.toString());
    m.put(STATE_RETENTION, stateRetention.toString());
    m.put(BUFFER_TIMEOUT, bufferTimeout.toString());
    m.put(JOB_NAME, jobName);
    StringBuilder sb = new StringBuilder("orchestrator config:");
    m.forEach((k, val) -> sb.append("\n  ").append(k).append(" = ").append(val));
    return sb.toString();
  }

  @Override
  public String toString() {
    return describe();
  }

  /** The object store of schedule sources; {@link #configured()} is false without an endpoint. */
  public record StorageSettings(
      String endpoint, String accessKey, String secretKey, String region, String bucket)
      implements Serializable {
    public boolean configured() {
      return !endpoint.isEmpty();
    }

    @Override
    public String toString() {
      return "StorageSettings[endpoint=" + endpoint + ", bucket=" + bucket + "]";
    }
  }

  /**
   * Retry policy of failed stages: exponential backoff {@code initial * multiplier^(n-1)} capped at
   * {@code max}, for at most {@code maxAttempts} attempts per stage.
   */
  public record RetryPolicy(
      int maxAttempts, long initialBackoffMillis, long maxBackoffMillis, double multiplier)
      implements Serializable {
    /** Backoff before attempt {@code nextAttempt} (2 = first retry). */
    public long backoffMillis(int nextAttempt) {
      double b = initialBackoffMillis * Math.pow(multiplier, Math.max(0, nextAttempt - 2));
      return (long) Math.min(maxBackoffMillis, b);
    }
  }

  /** Builder with validated options; unknown keys are refused. */
  public static final class Builder {
    private final Map<String, String> values = new LinkedHashMap<>();

    private Builder() {}

    /** Sets any documented key. */
    public Builder set(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value of " + key);
      if (!DEFAULTS.containsKey(key)) {
        throw new OrchestratorConfigException(
            "Unknown orchestrator config key '" + key + "'; known keys: " + DEFAULTS.keySet());
      }
      values.put(key, value);
      return this;
    }

    public Builder bootstrapServers(String v) {
      return set(BOOTSTRAP_SERVERS, v);
    }

    public Builder registryUrl(String v) {
      return set(REGISTRY_URL, v);
    }

    public Builder bucket(String v) {
      return set(BUCKET, v);
    }

    /** The object store schedule sources are read from. */
    public Builder storage(String endpoint, String accessKey, String secretKey, String region) {
      set(STORAGE_ENDPOINT, endpoint);
      set(STORAGE_ACCESS_KEY, accessKey);
      set(STORAGE_SECRET_KEY, secretKey);
      return set(STORAGE_REGION, region);
    }

    public Builder scheduleSourceMaxRows(int v) {
      return set(SCHEDULE_SOURCE_MAX_ROWS, Integer.toString(v));
    }

    /** Expected stage durations before any is observed (zero: none). */
    public Builder expectedDurations(Duration base, Duration upscale) {
      set(EXPECTED_BASE, base.toString());
      return set(EXPECTED_UPSCALE, upscale.toString());
    }

    public Builder groupId(String v) {
      return set(GROUP_ID, v);
    }

    public Builder transactionalIdPrefix(String v) {
      return set(TRANSACTIONAL_ID_PREFIX, v);
    }

    public Builder transactionTimeout(Duration v) {
      return set(TRANSACTION_TIMEOUT, v.toString());
    }

    public Builder lease(Duration v) {
      return set(LEASE, v.toString());
    }

    public Builder retry(int maxAttempts, Duration initial, Duration max, double multiplier) {
      set(RETRY_MAX_ATTEMPTS, Integer.toString(maxAttempts));
      set(RETRY_INITIAL_BACKOFF, initial.toString());
      set(RETRY_MAX_BACKOFF, max.toString());
      return set(RETRY_MULTIPLIER, Double.toString(multiplier));
    }

    public Builder taskDelivery(DeliveryGuarantee v) {
      return set(DELIVERY_TASKS, v.name());
    }

    public Builder eventDelivery(DeliveryGuarantee v) {
      return set(DELIVERY_EVENTS, v.name());
    }

    public Builder checkpointInterval(Duration v) {
      return set(CHECKPOINT_INTERVAL, v.toString());
    }

    public Builder checkpointDir(String v) {
      return set(CHECKPOINT_DIR, v);
    }

    public Builder stateBackend(String v) {
      return set(STATE_BACKEND, v);
    }

    public Builder parallelism(int v) {
      return set(PARALLELISM, Integer.toString(v));
    }

    public Builder positionInterval(Duration v) {
      return set(POSITION_INTERVAL, v.toString());
    }

    public Builder exactPositions(int v) {
      return set(EXACT_POSITIONS, Integer.toString(v));
    }

    public Builder drrQuantum(int v) {
      return set(DRR_QUANTUM, Integer.toString(v));
    }

    public Builder deadlineBucket(Duration v) {
      return set(DEADLINE_BUCKET, v.toString());
    }

    public Builder stateRetention(Duration v) {
      return set(STATE_RETENTION, v.toString());
    }

    public Builder bufferTimeout(Duration v) {
      return set(BUFFER_TIMEOUT, v.toString());
    }

    public Builder jobName(String v) {
      return set(JOB_NAME, v);
    }

    /**
     * @throws OrchestratorConfigException naming the key whose value is invalid
     */
    public OrchestratorConfig build() {
      return new OrchestratorConfig(values);
    }
  }

  private static String nonBlank(Map<String, String> all, String key) {
    String v = all.get(key);
    if (v == null || v.isBlank()) {
      throw new OrchestratorConfigException(key + " must not be blank");
    }
    return v.trim();
  }

  private static int positiveInt(Map<String, String> all, String key) {
    try {
      int v = Integer.parseInt(all.get(key).trim());
      if (v < 1) {
        throw new NumberFormatException();
      }
      return v;
    } catch (NumberFormatException e) {
      throw new OrchestratorConfigException(
          key + " must be a positive integer, got '" + all.get(key) + "'");
    }
  }

  private static DeliveryGuarantee delivery(Map<String, String> all, String key) {
    String v = all.get(key).trim().toUpperCase(Locale.ROOT).replace('-', '_');
    if (v.equals("AT_LEAST_ONCE") || v.equals("EXACTLY_ONCE")) {
      return DeliveryGuarantee.valueOf(v);
    }
    throw new OrchestratorConfigException(
        key + " must be AT_LEAST_ONCE or EXACTLY_ONCE, got '" + all.get(key) + "'");
  }

  private static Duration nonNegative(Map<String, String> all, String key) {
    Duration d = parseDuration(key, all.get(key));
    if (d.isNegative()) {
      throw new OrchestratorConfigException(
          key + " must not be negative, got '" + all.get(key) + "'");
    }
    return d;
  }

  private static Duration positive(Map<String, String> all, String key) {
    Duration d = parseDuration(key, all.get(key));
    if (d.isNegative() || d.isZero()) {
      throw new OrchestratorConfigException(key + " must be positive, got '" + all.get(key) + "'");
    }
    return d;
  }

  static Duration parseDuration(String key, String raw) {
    String s = raw.trim().toLowerCase(Locale.ROOT);
    try {
      if (s.startsWith("p")) {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      }
      int i = 0;
      while (i < s.length() && (Character.isDigit(s.charAt(i)))) {
        i++;
      }
      long n = Long.parseLong(s.substring(0, i));
      String unit = s.substring(i).trim();
      switch (unit) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
        case "":
          return Duration.ofSeconds(n);
        case "m":
        case "min":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        case "d":
          return Duration.ofDays(n);
        default:
          throw new IllegalArgumentException("unit " + unit);
      }
    } catch (RuntimeException e) {
      throw new OrchestratorConfigException(
          key + " must be a duration such as 30s, 500ms, 5m or PT30S, got '" + raw + "'", e);
    }
  }
}
