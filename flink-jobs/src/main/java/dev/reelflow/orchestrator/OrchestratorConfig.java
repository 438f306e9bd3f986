package dev.reelflow.orchestrator;

import static dev.reelflow.orchestrator.OrchestratorSettings.BOOTSTRAP_SERVERS;
import static dev.reelflow.orchestrator.OrchestratorSettings.BUFFER_TIMEOUT;
import static dev.reelflow.orchestrator.OrchestratorSettings.CHECKPOINT_DIR;
import static dev.reelflow.orchestrator.OrchestratorSettings.CHECKPOINT_INTERVAL;
import static dev.reelflow.orchestrator.OrchestratorSettings.DEADLINE_BUCKET;
import static dev.reelflow.orchestrator.OrchestratorSettings.DELIVERY_EVENTS;
import static dev.reelflow.orchestrator.OrchestratorSettings.DELIVERY_TASKS;
import static dev.reelflow.orchestrator.OrchestratorSettings.DRR_QUANTUM;
import static dev.reelflow.orchestrator.OrchestratorSettings.EXACT_POSITIONS;
import static dev.reelflow.orchestrator.OrchestratorSettings.EXPECTED_BASE;
import static dev.reelflow.orchestrator.OrchestratorSettings.EXPECTED_UPSCALE;
import static dev.reelflow.orchestrator.OrchestratorSettings.GROUP_ID;
import static dev.reelflow.orchestrator.OrchestratorSettings.JOB_NAME;
import static dev.reelflow.orchestrator.OrchestratorSettings.LEASE;
import static dev.reelflow.orchestrator.OrchestratorSettings.LEASE_STALL_HOLD;
import static dev.reelflow.orchestrator.OrchestratorSettings.PARALLELISM;
import static dev.reelflow.orchestrator.OrchestratorSettings.POSITION_INTERVAL;
import static dev.reelflow.orchestrator.OrchestratorSettings.REGISTRY_URL;
import static dev.reelflow.orchestrator.OrchestratorSettings.RETRY_INITIAL_BACKOFF;
import static dev.reelflow.orchestrator.OrchestratorSettings.RETRY_MAX_ATTEMPTS;
import static dev.reelflow.orchestrator.OrchestratorSettings.RETRY_MAX_BACKOFF;
import static dev.reelflow.orchestrator.OrchestratorSettings.RETRY_MULTIPLIER;
import static dev.reelflow.orchestrator.OrchestratorSettings.S3_ACCESS_KEY;
import static dev.reelflow.orchestrator.OrchestratorSettings.S3_BUCKET;
import static dev.reelflow.orchestrator.OrchestratorSettings.S3_ENDPOINT;
import static dev.reelflow.orchestrator.OrchestratorSettings.S3_REGION;
import static dev.reelflow.orchestrator.OrchestratorSettings.S3_SECRET_KEY;
import static dev.reelflow.orchestrator.OrchestratorSettings.SCHEDULE_SOURCE_MAX_ROWS;
import static dev.reelflow.orchestrator.OrchestratorSettings.SPEC;
import static dev.reelflow.orchestrator.OrchestratorSettings.STATE_BACKEND;
import static dev.reelflow.orchestrator.OrchestratorSettings.STATE_RETENTION;
import static dev.reelflow.orchestrator.OrchestratorSettings.TRANSACTIONAL_ID_PREFIX;
import static dev.reelflow.orchestrator.OrchestratorSettings.TRANSACTION_TIMEOUT;

import dev.reelflow.config.ConfigException;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Durations;
import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * The orchestrator job's configuration as its operators carry it: immutable, serializable, typed.
 * The settings, their defaults and documentation are {@link OrchestratorSettings} ({@link
 * OrchestratorSettings#SPEC}); values come from code ({@link #builder()}) or from a properties file
 * and the environment ({@link #load}; the environment wins, each setting's variable is {@link
 * dev.reelflow.config.ConfigSpec#envName}, e.g. {@code REELFLOW_KAFKA_BOOTSTRAP_SERVERS}). Each
 * value is checked by its setting, the rules between settings by {@link TransactionTimingRules};
 * every error is an {@link OrchestratorConfigException} naming the setting and where its value came
 * from.
 */
public final class OrchestratorConfig implements Serializable {
  private static final long serialVersionUID = 2L;

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

  /** What {@link #describe()} prints: the values as read, with sources, secrets masked. */
  private final String description;

  private final List<String> warnings;

  private OrchestratorConfig(ConfigValues v) {
    this.bootstrapServers = v.get(BOOTSTRAP_SERVERS);
    this.registryUrl = v.get(REGISTRY_URL);
    this.bucket = v.get(S3_BUCKET);
    this.storage =
        new StorageSettings(
            v.get(S3_ENDPOINT),
            v.get(S3_ACCESS_KEY),
            v.get(S3_SECRET_KEY),
            v.get(S3_REGION),
            bucket);
    this.scheduleSourceMaxRows = v.get(SCHEDULE_SOURCE_MAX_ROWS);
    this.expectedBase = v.get(EXPECTED_BASE);
    this.expectedUpscale = v.get(EXPECTED_UPSCALE);
    this.groupId = v.get(GROUP_ID);
    this.transactionalIdPrefix = v.get(TRANSACTIONAL_ID_PREFIX);
    this.transactionTimeout = v.get(TRANSACTION_TIMEOUT);
    this.lease = v.get(LEASE);
    this.leaseStallHold = v.get(LEASE_STALL_HOLD);
    this.retry =
        new RetryPolicy(
            v.get(RETRY_MAX_ATTEMPTS),
            v.get(RETRY_INITIAL_BACKOFF).toMillis(),
            v.get(RETRY_MAX_BACKOFF).toMillis(),
            v.get(RETRY_MULTIPLIER));
    this.taskDelivery = delivery(v.get(DELIVERY_TASKS));
    this.eventDelivery = delivery(v.get(DELIVERY_EVENTS));
    this.checkpointInterval = v.get(CHECKPOINT_INTERVAL);
    this.checkpointDir = v.get(CHECKPOINT_DIR);
    this.stateBackend = v.get(STATE_BACKEND);
    this.parallelism = v.get(PARALLELISM);
    this.positionInterval = v.get(POSITION_INTERVAL);
    this.exactPositions = v.get(EXACT_POSITIONS);
    this.drrQuantum = v.get(DRR_QUANTUM);
    this.deadlineBucket = v.get(DEADLINE_BUCKET);
    this.stateRetention = v.get(STATE_RETENTION);
    this.bufferTimeout = v.get(BUFFER_TIMEOUT);
    this.jobName = v.get(JOB_NAME);
    this.description = v.describe();
    this.warnings = List.copyOf(v.warnings());
  }

  /** The settings' choice ({@code exactly_once}) as Flink's guarantee. */
  private static DeliveryGuarantee delivery(String choice) {
    return DeliveryGuarantee.valueOf(choice.toUpperCase(Locale.ROOT));
  }

  /** Checks the rules between settings, then takes the typed values. */
  private static OrchestratorConfig of(ConfigValues values) {
    TransactionTimingRules.check(values);
    return new OrchestratorConfig(values);
  }

  /** Runs {@code read}, giving any configuration error the orchestrator's type. */
  private static <T> T reading(Supplier<T> read) {
    try {
      return read.get();
    } catch (OrchestratorConfigException e) {
      throw e;
    } catch (ConfigException e) {
      throw new OrchestratorConfigException(e.getMessage(), e);
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
   * Reads the properties file (when not null) and then the environment; a name that is not an
   * orchestrator setting fails in the file and is ignored in the environment (other processes'
   * variables). Old names are read with a warning (logged, and in {@link #warnings()}).
   *
   * @param file a {@code .properties} file of {@link OrchestratorSettings}, or null
   * @param env the environment, usually {@code System.getenv()}
   * @throws OrchestratorConfigException naming the setting and where its value came from
   */
  public static OrchestratorConfig load(Path file, Map<String, String> env) {
    return reading(() -> of(SPEC.load(file, env, Map.of())));
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

  /** {@link OrchestratorSettings#LEASE_STALL_HOLD}: zero when the stall guard is off. */
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

  /** {@code rocksdb} or {@code hashmap}. */
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

  /** What was read under an old name or in an old form, one sentence each naming the new one. */
  public List<String> warnings() {
    return warnings;
  }

  /**
   * Every setting with its value and source ({@code name = value (source)}), secrets masked, then
   * the warnings of reading it: what the job logs at start.
   */
  public String describe() {
    StringBuilder sb = new StringBuilder(description);
    for (String w : warnings) {
      sb.append("\n  warning: ").append(w);
    }
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

  /**
   * Builder with validated options: a name that is not a setting, or a value its setting refuses,
   * fails at {@link #set}; the rules between settings at {@link #build()}. Values set here have the
   * source {@code override} in {@link #describe()}; the environment is not read.
   */
  public static final class Builder {
    private static final ConfigValues DEFAULTS = SPEC.defaults();

    private final Map<String, String> values = new LinkedHashMap<>();

    private Builder() {}

    /**
     * Sets any setting of {@link OrchestratorSettings} by name, as written in a file.
     *
     * @throws OrchestratorConfigException for an unknown name (suggesting the closest) or a value
     *     the setting refuses
     */
    public Builder set(String name, String value) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value of " + name);
      reading(() -> DEFAULTS.with(name, value));
      values.put(name, value);
      return this;
    }

    public Builder bootstrapServers(String v) {
      return set(BOOTSTRAP_SERVERS.name(), v);
    }

    public Builder registryUrl(String v) {
      return set(REGISTRY_URL.name(), v);
    }

    public Builder bucket(String v) {
      return set(S3_BUCKET.name(), v);
    }

    /** The object store schedule sources are read from (the bucket is {@link #bucket}). */
    public Builder storage(String endpoint, String accessKey, String secretKey, String region) {
      set(S3_ENDPOINT.name(), endpoint);
      set(S3_ACCESS_KEY.name(), accessKey);
      set(S3_SECRET_KEY.name(), secretKey);
      return set(S3_REGION.name(), region);
    }

    public Builder scheduleSourceMaxRows(int v) {
      return set(SCHEDULE_SOURCE_MAX_ROWS.name(), Integer.toString(v));
    }

    /** Expected stage durations before any is observed (zero: none). */
    public Builder expectedDurations(Duration base, Duration upscale) {
      set(EXPECTED_BASE.name(), Durations.format(base));
      return set(EXPECTED_UPSCALE.name(), Durations.format(upscale));
    }

    public Builder groupId(String v) {
      return set(GROUP_ID.name(), v);
    }

    public Builder transactionalIdPrefix(String v) {
      return set(TRANSACTIONAL_ID_PREFIX.name(), v);
    }

    public Builder transactionTimeout(Duration v) {
      return set(TRANSACTION_TIMEOUT.name(), Durations.format(v));
    }

    public Builder lease(Duration v) {
      return set(LEASE.name(), Durations.format(v));
    }

    public Builder retry(int maxAttempts, Duration initial, Duration max, double multiplier) {
      set(RETRY_MAX_ATTEMPTS.name(), Integer.toString(maxAttempts));
      set(RETRY_INITIAL_BACKOFF.name(), Durations.format(initial));
      set(RETRY_MAX_BACKOFF.name(), Durations.format(max));
      return set(RETRY_MULTIPLIER.name(), Double.toString(multiplier));
    }

    public Builder taskDelivery(DeliveryGuarantee v) {
      return set(DELIVERY_TASKS.name(), v.name().toLowerCase(Locale.ROOT));
    }

    public Builder eventDelivery(DeliveryGuarantee v) {
      return set(DELIVERY_EVENTS.name(), v.name().toLowerCase(Locale.ROOT));
    }

    public Builder checkpointInterval(Duration v) {
      return set(CHECKPOINT_INTERVAL.name(), Durations.format(v));
    }

    public Builder checkpointDir(String v) {
      return set(CHECKPOINT_DIR.name(), v);
    }

    public Builder stateBackend(String v) {
      return set(STATE_BACKEND.name(), v);
    }

    public Builder parallelism(int v) {
      return set(PARALLELISM.name(), Integer.toString(v));
    }

    public Builder positionInterval(Duration v) {
      return set(POSITION_INTERVAL.name(), Durations.format(v));
    }

    public Builder exactPositions(int v) {
      return set(EXACT_POSITIONS.name(), Integer.toString(v));
    }

    public Builder drrQuantum(int v) {
      return set(DRR_QUANTUM.name(), Integer.toString(v));
    }

    public Builder deadlineBucket(Duration v) {
      return set(DEADLINE_BUCKET.name(), Durations.format(v));
    }

    public Builder stateRetention(Duration v) {
      return set(STATE_RETENTION.name(), Durations.format(v));
    }

    public Builder bufferTimeout(Duration v) {
      return set(BUFFER_TIMEOUT.name(), Durations.format(v));
    }

    public Builder jobName(String v) {
      return set(JOB_NAME.name(), v);
    }

    /**
     * @throws OrchestratorConfigException naming the settings whose values do not fit together
     */
    public OrchestratorConfig build() {
      return reading(() -> of(SPEC.load(null, Map.of(), values)));
    }
  }
}
