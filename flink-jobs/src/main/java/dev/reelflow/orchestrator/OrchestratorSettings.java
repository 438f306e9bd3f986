package dev.reelflow.orchestrator;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.Setting;
import java.time.Duration;

/**
 * Every setting of the orchestrator job, declared once: name, type, default, validation and
 * documentation ({@link #SPEC}; ARCHITECTURE.md, decision 23). {@link OrchestratorConfig} reads
 * them into the typed configuration the job's operators carry; the rules that tie several settings
 * together are {@link TransactionTimingRules}.
 *
 * <p>Durations are a whole number and a unit ({@code 500ms}, {@code 30s}, {@code 10m}, {@code 2h},
 * {@code 7d}; {@code 0} alone is zero). A bare number, which the orchestrator used to read as
 * seconds, is refused; ISO-8601 ({@code PT30S}) is read for one release with a warning.
 */
public final class OrchestratorSettings {

  private OrchestratorSettings() {}

  /** The longest {@link #LEASE} and {@link #LEASE_STALL_HOLD} accepted. */
  static final Duration MAX_LEASE = Duration.ofDays(1);

  private static final String NOT_BLANK = "not blank";
  private static final String POSITIVE = "more than 0";

  public static final Setting<String> BOOTSTRAP_SERVERS =
      Setting.string("kafka.bootstrap.servers")
          .defaultValue("localhost:9092")
          .check(s -> !s.isBlank(), NOT_BLANK)
          .doc("Kafka bootstrap servers.")
          .build();

  public static final Setting<String> REGISTRY_URL =
      Setting.string("schema.registry.url")
          .defaultValue("http://localhost:8081")
          .check(s -> !s.isBlank(), NOT_BLANK)
          .doc("Schema registry URL (Confluent REST API).")
          .build();

  public static final Setting<String> S3_BUCKET =
      Setting.string("s3.bucket")
          .defaultValue("reelflow")
          .check(s -> !s.isBlank(), NOT_BLANK)
          .doc(
              "Object store bucket the artifacts live in (the lineage namespace) and schedule"
                  + " sources are read from.")
          .oldName("storage.bucket")
          .build();

  public static final Setting<String> S3_ENDPOINT =
      Setting.string("s3.endpoint")
          .defaultValue("")
          .doc(
              "S3 endpoint the job reads schedule sources (NDJSON row files) from; empty:"
                  + " schedules with a source are dead-lettered.")
          .oldName("storage.endpoint")
          .build();

  public static final Setting<String> S3_ACCESS_KEY =
      Setting.string("s3.access-key")
          .defaultValue("")
          .doc("Access key of `s3.endpoint`.")
          .oldName("storage.access-key")
          .build();

  public static final Setting<String> S3_SECRET_KEY =
      Setting.string("s3.secret-key")
          .defaultValue("")
          .secret()
          .doc("Secret key of `s3.endpoint`.")
          .oldName("storage.secret-key")
          .build();

  public static final Setting<String> S3_REGION =
      Setting.string("s3.region")
          .defaultValue("us-east-1")
          .check(s -> !s.isBlank(), NOT_BLANK)
          .doc("Region of `s3.endpoint`.")
          .oldName("storage.region")
          .build();

  public static final Setting<Integer> SCHEDULE_SOURCE_MAX_ROWS =
      Setting.integer("schedule.source-max-rows")
          .defaultValue("50000")
          .check(n -> n > 0, POSITIVE)
          .doc(
              "Most rows a schedule's source file may have; a larger file fires nothing and is"
                  + " dead-lettered (a fire is all-or-nothing).")
          .build();

  public static final Setting<Duration> EXPECTED_BASE =
      Setting.duration("deadline.expected-base")
          .defaultValue("0s")
          .doc(
              "Expected duration of a base stage before any has been observed; a queued render"
                  + " whose deadline is nearer than the expected remaining work ends EXPIRED"
                  + " before dispatch. Once stages complete, the observed durations (per stage and"
                  + " resolution) take over. `0s`: no estimate until one is observed.")
          .build();

  public static final Setting<Duration> EXPECTED_UPSCALE =
      Setting.duration("deadline.expected-upscale")
          .defaultValue("0s")
          .doc("As `deadline.expected-base`, for the upscale stage.")
          .build();

  public static final Setting<String> GROUP_ID =
      Setting.string("kafka.group.id")
          .defaultValue("reelflow-orchestrator")
          .check(s -> !s.isBlank(), NOT_BLANK)
          .doc("Consumer group of the job's Kafka sources.")
          .build();

  public static final Setting<String> TRANSACTIONAL_ID_PREFIX =
      Setting.string("kafka.transactional.id.prefix")
          .defaultValue("reelflow-orchestrator")
          .check(s -> !s.isBlank(), NOT_BLANK)
          .doc("Prefix of the Kafka transactional ids; must be unique per job on a cluster.")
          .build();

  public static final Setting<Duration> TRANSACTION_TIMEOUT =
      Setting.duration("kafka.transaction.timeout")
          .defaultValue("10m")
          .check(d -> !d.isZero(), POSITIVE)
          .doc(
              "Kafka transaction timeout of the transactional sinks; at least twice"
                  + " `checkpoint.interval` and at most the broker's"
                  + " `transaction.max.timeout.ms`.")
          .build();

  public static final Setting<Duration> LEASE =
      Setting.duration("task.lease")
          .defaultValue("4s")
          .check(d -> !d.isZero(), POSITIVE)
          // A lease is a heartbeat timeout; the cap also keeps RenderTask.leaseMillis
          // JavaScript-safe.
          .check(d -> d.compareTo(MAX_LEASE) <= 0, "at most 24h")
          .doc(
              "Lease of a task: a running attempt is fenced and the next one queued when no"
                  + " heartbeat arrives within it. The default is four missed heartbeats at the"
                  + " workers' 1 s interval, so a killed worker's task is re-dispatched within about"
                  + " 5 s; heartbeats come from a thread of their own, so only a frozen or dead"
                  + " worker misses them. Raise it where worker JVMs pause for seconds or the"
                  + " network to Kafka stalls. With `delivery.tasks=exactly_once` it must be more"
                  + " than twice `checkpoint.interval`.")
          .build();

  public static final Setting<Duration> LEASE_STALL_HOLD =
      Setting.duration("task.lease.stall-hold")
          .defaultValue("30s")
          .check(d -> d.compareTo(MAX_LEASE) <= 0, "at most 24h")
          .doc(
              "The longest a lease is held past its end while the orchestrator's input looks"
                  + " stalled rather than one worker dead (attempts on two or more workers fell"
                  + " silent within one heartbeat interval: a Kafka outage, not a worker death);"
                  + " when input resumes every held lease gets one full lease from then. `0s`"
                  + " switches the guard off.")
          .build();

  public static final Setting<Integer> RETRY_MAX_ATTEMPTS =
      Setting.integer("retry.max-attempts")
          .defaultValue("3")
          .check(n -> n > 0, POSITIVE)
          .doc("Attempts per stage before the render fails (1 = no retry).")
          .build();

  public static final Setting<Duration> RETRY_INITIAL_BACKOFF =
      Setting.duration("retry.initial-backoff")
          .defaultValue("2s")
          .check(d -> !d.isZero(), POSITIVE)
          .doc("Backoff before the first retry.")
          .build();

  public static final Setting<Duration> RETRY_MAX_BACKOFF =
      Setting.duration("retry.max-backoff")
          .defaultValue("2m")
          .check(d -> !d.isZero(), POSITIVE)
          .doc("Upper bound of the exponential backoff.")
          .build();

  public static final Setting<Double> RETRY_MULTIPLIER =
      Setting.decimal("retry.multiplier")
          .defaultValue("2.0")
          .check(m -> m >= 1.0, "at least 1")
          .doc("Factor between two backoffs.")
          .build();

  public static final Setting<String> DELIVERY_TASKS =
      Setting.choice("delivery.tasks", "at_least_once", "exactly_once")
          .defaultValue("at_least_once")
          .doc(
              "Delivery of `render.tasks.*`. At-least-once reaches the workers at once (they drop"
                  + " duplicates); exactly-once only at a checkpoint.")
          .build();

  public static final Setting<String> DELIVERY_EVENTS =
      Setting.choice("delivery.events", "at_least_once", "exactly_once")
          .defaultValue("exactly_once")
          .doc("Delivery of `render.status`, `render.lineage` and `render.dlq`.")
          .build();

  public static final Setting<Duration> CHECKPOINT_INTERVAL =
      Setting.duration("checkpoint.interval")
          .defaultValue("10s")
          .check(d -> !d.isZero(), POSITIVE)
          .doc("Checkpoint interval.")
          .build();

  public static final Setting<String> CHECKPOINT_DIR =
      Setting.string("checkpoint.dir")
          .defaultValue("")
          .doc("Checkpoint directory (URI); empty keeps Flink's default.")
          .build();

  public static final Setting<String> STATE_BACKEND =
      Setting.choice("state.backend", "rocksdb", "hashmap")
          .defaultValue("rocksdb")
          .doc("State backend: `rocksdb` (large backlogs) or `hashmap` (in memory).")
          .build();

  public static final Setting<Integer> PARALLELISM =
      Setting.integer("parallelism")
          .defaultValue("1")
          .check(n -> n > 0, POSITIVE)
          .doc("Parallelism of the job's operators.")
          .build();

  public static final Setting<Duration> POSITION_INTERVAL =
      Setting.duration("scheduler.position-interval")
          .defaultValue("5s")
          .check(d -> !d.isZero(), POSITIVE)
          .doc("Minimum interval between two queue-position updates of one render.")
          .build();

  public static final Setting<Integer> EXACT_POSITIONS =
      Setting.integer("scheduler.exact-positions")
          .defaultValue("1000")
          .check(n -> n > 0, POSITIVE)
          .doc(
              "Queue positions are exact for this many queued tasks per pool; beyond them, at most"
                  + " this many estimated positions are published per position interval, in"
                  + " rotation.")
          .build();

  public static final Setting<Integer> DRR_QUANTUM =
      Setting.integer("scheduler.drr-quantum")
          .defaultValue("1")
          .check(n -> n > 0, POSITIVE)
          .doc("Deficit-round-robin quantum, in tasks per tenant per round.")
          .build();

  public static final Setting<Duration> DEADLINE_BUCKET =
      Setting.duration("scheduler.deadline-bucket")
          .defaultValue("1m")
          .check(d -> !d.isZero(), POSITIVE)
          .doc(
              "Deadlines within the same bucket count as equal when ordering, so tenants with"
                  + " similar deadlines share by fair share.")
          .build();

  public static final Setting<Duration> STATE_RETENTION =
      Setting.duration("state.retention")
          .defaultValue("7d")
          .check(d -> !d.isZero(), POSITIVE)
          .doc("How long a finished render's state is kept (dedupe of late duplicates).")
          .build();

  public static final Setting<Duration> BUFFER_TIMEOUT =
      Setting.duration("pipeline.buffer-timeout")
          .defaultValue("10ms")
          .check(d -> !d.isZero(), POSITIVE)
          .doc(
              "Longest time a record waits in a network buffer between two operators; low values"
                  + " cut the dispatch latency.")
          .build();

  public static final Setting<String> JOB_NAME =
      Setting.string("job.name")
          .defaultValue("reelflow-orchestrator")
          .check(s -> !s.isBlank(), NOT_BLANK)
          .doc("Name of the Flink job.")
          .build();

  /** The orchestrator's settings, in the order the README's configuration table lists them. */
  public static final ConfigSpec SPEC =
      ConfigSpec.builder("orchestrator")
          .add(
              BOOTSTRAP_SERVERS,
              REGISTRY_URL,
              GROUP_ID,
              TRANSACTIONAL_ID_PREFIX,
              TRANSACTION_TIMEOUT,
              S3_BUCKET,
              S3_ENDPOINT,
              S3_ACCESS_KEY,
              S3_SECRET_KEY,
              S3_REGION,
              SCHEDULE_SOURCE_MAX_ROWS,
              LEASE,
              LEASE_STALL_HOLD,
              RETRY_MAX_ATTEMPTS,
              RETRY_INITIAL_BACKOFF,
              RETRY_MAX_BACKOFF,
              RETRY_MULTIPLIER,
              EXPECTED_BASE,
              EXPECTED_UPSCALE,
              POSITION_INTERVAL,
              EXACT_POSITIONS,
              DRR_QUANTUM,
              DEADLINE_BUCKET,
              DELIVERY_TASKS,
              DELIVERY_EVENTS,
              CHECKPOINT_INTERVAL,
              CHECKPOINT_DIR,
              STATE_BACKEND,
              STATE_RETENTION,
              PARALLELISM,
              BUFFER_TIMEOUT,
              JOB_NAME)
          .build();
}
