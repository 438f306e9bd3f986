package dev.reelflow.worker;

import dev.reelflow.config.ConfigException;
import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Durations;
import dev.reelflow.config.Setting;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.schemas.avro.Stage;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one typed configuration of a worker process, declared once in {@link #SPEC} (the shared
 * {@code config} module: ARCHITECTURE.md, decision 23): defaults, a properties file, environment
 * variables {@code REELFLOW_<SETTING>} (upper-cased, {@code .} and {@code -} as {@code _}), then
 * explicit overrides (command line). Unknown names in the file or the overrides are rejected so
 * typos do not pass silently, except the open families {@code engine.<name>.*} (engine options) and
 * {@code kafka.*} (passed to the Kafka clients without the prefix). Old names ({@code
 * bootstrap.servers}, {@code drain.grace.ms}, ...) and the old variable prefix {@code
 * REELFLOW_WORKER_} are read for one release with a warning.
 */
public final class WorkerConfig {

  public static final Setting<String> POOL =
      Setting.choice("worker.pool", "base", "upscale")
          .defaultValue("base")
          .doc("Pool served: base (render.tasks.base) or upscale.")
          .build();
  public static final Setting<String> WORKER_ID =
      Setting.string("worker.id")
          .doc("Worker id prefix; default host-pid. Slot i gets <id>-<i>.")
          .build();
  public static final Setting<Integer> SLOTS =
      Setting.integer("worker.slots")
          .defaultValue("1")
          .check(n -> n >= 1 && n <= 64, "in 1..64")
          .doc("Workers started in this process (one per GPU or CPU slot).")
          .build();
  public static final Setting<String> ENGINE =
      Setting.string("engine")
          .defaultValue("native")
          .check(e -> !e.isBlank(), "an engine name (native, resident, command, emulated)")
          .doc(
              "Engine: native | resident (a model server kept loaded, engine.resident.*) | command"
                  + " | emulated | <registered>.")
          .build();
  public static final Setting<String> BACKEND =
      Setting.string("backend")
          .defaultValue("cpu")
          .check(WorkerConfig::isBackend, "cpu, torch, cuda or cuda:N")
          .doc(
              "Tensor backend of the native engines: cpu (OpenBLAS), torch (libtorch on the CPU),"
                  + " cuda or cuda:N (libtorch on GPU N; slot i of a multi-slot process gets GPU"
                  + " N+i). cuda without a usable GPU fails at start saying what is missing.")
          .build();
  public static final Setting<String> BOOTSTRAP_SERVERS =
      Setting.string("kafka.bootstrap.servers")
          .doc("Kafka bootstrap servers (required).")
          .oldName("bootstrap.servers")
          .build();
  public static final Setting<String> SCHEMA_REGISTRY_URL =
      Setting.string("schema.registry.url").doc("Schema registry URL (required).").build();
  public static final Setting<String> S3_ENDPOINT =
      Setting.string("s3.endpoint").doc("S3 endpoint URL (required).").build();
  public static final Setting<String> S3_ACCESS_KEY =
      Setting.string("s3.access-key").doc("S3 access key (required).").build();
  public static final Setting<String> S3_SECRET_KEY =
      Setting.string("s3.secret-key").secret().doc("S3 secret key (required).").build();
  public static final Setting<String> S3_BUCKET =
      Setting.string("s3.bucket").defaultValue("reelflow").doc("Artifact bucket.").build();
  public static final Setting<String> S3_REGION =
      Setting.string("s3.region").defaultValue("us-east-1").doc("S3 region.").build();
  public static final Setting<Duration> HEARTBEAT_INTERVAL =
      Setting.duration("heartbeat.interval")
          .defaultValue("1s")
          .check(WorkerConfig::positive, "> 0")
          .doc(
              "HEARTBEAT stage-event interval, sent by a thread of its own (not the render's). The"
                  + " orchestrator's task.lease (default 4s) is a few missed heartbeats; a task"
                  + " whose heartbeats stopped for a lease (a worker frozen, e.g. SIGSTOP) fences"
                  + " itself: it stops before publishing anything.")
          .oldName("heartbeat.interval.ms", Durations::fromMillis)
          .build();
  public static final Setting<Duration> FAULT_HOLD_BEFORE_COMPLETED =
      Setting.duration("fault.hold-before-completed")
          .defaultValue("0")
          .check(d -> !d.isNegative(), ">= 0")
          .doc(
              "Fault injection for the reliability suite only: wait this long between a stage's"
                  + " uploads and its COMPLETED event (heartbeats go on). Never set in"
                  + " production.")
          .oldName("fault.hold-before-completed-ms", Durations::fromMillis)
          .build();
  public static final Setting<Duration> DRAIN_GRACE =
      Setting.duration("drain.grace")
          .defaultValue("30s")
          .check(d -> !d.isNegative(), ">= 0")
          .doc("On SIGTERM: time to finish the task before handing it back (DRAINED).")
          .oldName("drain.grace.ms", Durations::fromMillis)
          .build();
  public static final Setting<Duration> POLL_TIMEOUT =
      Setting.duration("poll.timeout")
          .defaultValue("200ms")
          .check(WorkerConfig::positive, "> 0")
          .doc("Kafka poll timeout of the task and command consumers.")
          .oldName("poll.timeout.ms", Durations::fromMillis)
          .build();
  public static final Setting<Integer> DEDUPE_CACHE_SIZE =
      Setting.integer("dedupe.cache-size")
          .defaultValue("10000")
          .check(n -> n > 0, "> 0")
          .doc("Task ids remembered as done (LRU) to skip duplicate deliveries.")
          .oldName("dedupe.cache.size")
          .build();
  public static final Setting<Boolean> DEDUPE_CHECK_STORE =
      Setting.bool("dedupe.check-store")
          .defaultValue("true")
          .doc("Also skip a task whose stage manifest already exists in S3.")
          .build();
  public static final Setting<String> DEVICE_NAME =
      Setting.string("device.name")
          .defaultValue("auto")
          .doc("Device: auto (GPU 0 if NVML finds one, else cpu), cpu, or a GPU name.")
          .build();
  public static final Setting<String> DEVICE_MEMORY_BYTES =
      Setting.string("device.memory-bytes")
          .defaultValue("auto")
          .check(v -> v.equals("auto") || positiveLong(v), "auto or a byte count > 0")
          .doc("Device memory budget in bytes (auto: GPU total, or half the host memory on cpu).")
          .oldName("device.memory.bytes")
          .build();
  public static final Setting<Boolean> DEVICE_OFFLOAD_WEIGHTS =
      Setting.bool("device.offload-weights")
          .defaultValue("false")
          .doc(
              "Offload weights to host memory between blocks (CUDA backend); lowers the memory"
                  + " estimate.")
          .build();
  public static final Setting<String> VIDEO_ENCODER =
      Setting.string("video.encoder")
          .defaultValue("auto")
          .check(WorkerConfig::isEncoder, "auto, h264_nvenc or libopenh264")
          .doc(
              "H.264 encoder: auto (h264_nvenc with a GPU, else libopenh264), h264_nvenc,"
                  + " libopenh264.")
          .build();
  public static final Setting<String> WORK_DIR =
      Setting.string("work-dir")
          .doc("Scratch directory for task files; default <java.io.tmpdir>/reelflow-worker.")
          .oldName("work.dir")
          .build();
  public static final Setting<Integer> METRICS_PORT =
      Setting.integer("metrics.port")
          .defaultValue("9464")
          .check(p -> p >= -1 && p <= 65535, "in -1..65535")
          .doc("Port of /metrics and /healthz; 0 = any free port, -1 = off.")
          .build();
  public static final Setting<Duration> TASK_TIMEOUT =
      Setting.duration("task.timeout")
          .defaultValue("1h")
          .check(WorkerConfig::positive, "> 0")
          .doc("A task running longer fails with TIMEOUT (retryable).")
          .oldName("task.timeout.ms", Durations::fromMillis)
          .build();
  public static final Setting<String> MODEL_DIR =
      Setting.string("model-dir")
          .doc(
              "HunyuanVideo-1.5 checkpoint folder (released layout) for the native engine (the"
                  + " render's resolution and task pick the transformer variant,"
                  + " engine.native.variant-preference) and the latent-sr engine (the SR variant's"
                  + " transformer, upsampler and VAE); default none = seeded random-init weights.")
          .oldName("model.dir")
          .build();
  public static final Setting<Long> IMAGE_MAX_BYTES =
      Setting.longInteger("image.max-bytes")
          .defaultValue(Long.toString(10L << 20))
          .check(n -> n > 0 && n <= (16L << 20), "in 1..16777216 (16 MiB)")
          .doc(
              "Largest reference image of an image-to-video task (encoded bytes; at most 16 MiB);"
                  + " each side at most 8192 px and 50 megapixels.")
          .build();
  public static final Setting<Duration> IMAGE_FETCH_TIMEOUT =
      Setting.duration("image.fetch.timeout")
          .defaultValue("30s")
          .check(WorkerConfig::positive, "> 0")
          .doc("Longest fetch of an https imageUrl, redirects included (connect 5s, read 10s).")
          .oldName("image.fetch.timeout.ms", Durations::fromMillis)
          .build();
  public static final Setting<Boolean> IMAGE_FETCH_ALLOW_HTTP =
      Setting.bool("image.fetch.allow-http")
          .defaultValue("false")
          .doc("Fetch http imageUrls besides https: a test override, never for production.")
          .build();
  public static final Setting<String> IMAGE_FETCH_ALLOW_HOSTS =
      Setting.string("image.fetch.allow-hosts")
          .defaultValue("")
          .doc(
              "Hosts and address ranges (comma separated) an imageUrl may reach although the SSRF"
                  + " rules refuse them (loopback, private, link-local, ...): the local stack's test"
                  + " servers.")
          .build();
  public static final Setting<String> IMAGE_FETCH_DENY_HOSTS =
      Setting.string("image.fetch.deny-hosts")
          .defaultValue("")
          .doc(
              "More hosts and address ranges an imageUrl must never reach; the hosts of"
                  + " s3.endpoint, schema.registry.url and kafka.bootstrap.servers are always"
                  + " denied.")
          .build();

  /** Every worker setting, the open families, and how they are read. */
  public static final ConfigSpec SPEC =
      ConfigSpec.builder("worker")
          .add(
              POOL,
              WORKER_ID,
              SLOTS,
              ENGINE,
              BACKEND,
              BOOTSTRAP_SERVERS,
              SCHEMA_REGISTRY_URL,
              S3_ENDPOINT,
              S3_ACCESS_KEY,
              S3_SECRET_KEY,
              S3_BUCKET,
              S3_REGION,
              HEARTBEAT_INTERVAL,
              FAULT_HOLD_BEFORE_COMPLETED,
              DRAIN_GRACE,
              POLL_TIMEOUT,
              DEDUPE_CACHE_SIZE,
              DEDUPE_CHECK_STORE,
              DEVICE_NAME,
              DEVICE_MEMORY_BYTES,
              DEVICE_OFFLOAD_WEIGHTS,
              VIDEO_ENCODER,
              WORK_DIR,
              METRICS_PORT,
              TASK_TIMEOUT,
              MODEL_DIR,
              IMAGE_MAX_BYTES,
              IMAGE_FETCH_TIMEOUT,
              IMAGE_FETCH_ALLOW_HTTP,
              IMAGE_FETCH_ALLOW_HOSTS,
              IMAGE_FETCH_DENY_HOSTS)
          .family(
              "engine.",
              "Options of engine `<name>` (tables below), e.g. `engine.emulated.step`; variable"
                  + " `REELFLOW_ENGINE_<NAME>_<OPTION>` (`_` in the option read as `-`).",
              WorkerConfig::engineOptionOfEnv)
          .family(
              "kafka.",
              "Kafka client properties passed to the worker's clients without the prefix, e.g."
                  + " `kafka.security.protocol`; variable `REELFLOW_KAFKA_<PROPERTY>` (`_` read as"
                  + " `.`).",
              rest -> rest.toLowerCase(Locale.ROOT).replace('_', '.'))
          .oldEnvPrefix("REELFLOW_WORKER_")
          .build();

  private final ConfigValues values;

  private WorkerConfig(ConfigValues values) {
    this.values = values;
  }

  /** A config from explicit values only (defaults for the rest). */
  public static WorkerConfig of(Map<String, String> values) {
    return load(null, Map.of(), values);
  }

  /**
   * Loads defaults, then {@code file} (may be null), then {@code env} ({@code REELFLOW_*}), then
   * {@code overrides}.
   *
   * @throws ConfigException naming the bad setting, where it came from and what to do
   */
  public static WorkerConfig load(
      Path file, Map<String, String> env, Map<String, String> overrides) {
    return new WorkerConfig(SPEC.load(file, env, overrides));
  }

  private static String engineOptionOfEnv(String rest) {
    String[] parts = rest.split("_", 2);
    return parts.length < 2
        ? null
        : parts[0].toLowerCase(Locale.ROOT)
            + "."
            + parts[1].toLowerCase(Locale.ROOT).replace('_', '-');
  }

  private static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }

  private static boolean positiveLong(String v) {
    try {
      return Long.parseLong(v) > 0;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static boolean isEncoder(String v) {
    try {
      VideoCodec.Encoder.parse(v);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean isBackend(String v) {
    try {
      BackendSpec.parse(v);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Fails with a message naming the missing setting (and its environment variable). */
  public void requireConnections() {
    for (Setting<String> s :
        List.of(
            BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY)) {
      values.require(s);
    }
  }

  /** What was read under an old name or in an old form. */
  public List<String> warnings() {
    return values.warnings();
  }

  /** Raw value of a setting (family members included), or null. */
  public String get(String key) {
    return values.raw(key);
  }

  /** The value of {@code setting}, parsed; null when it is not set and has no default. */
  public <T> T get(Setting<T> setting) {
    return values.get(setting);
  }

  public Stage pool() {
    return values.get(POOL).equals("upscale") ? Stage.UPSCALE : Stage.BASE;
  }

  public String workerIdPrefix() {
    String id = values.get(WORKER_ID);
    if (id != null && !id.isBlank()) {
      return id;
    }
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "worker";
    }
    return host + "-" + ProcessHandle.current().pid();
  }

  public int slots() {
    return values.get(SLOTS);
  }

  public String engine() {
    return values.get(ENGINE);
  }

  /**
   * Options of engine {@code name}: settings {@code engine.<name>.*} with the prefix removed, plus
   * {@code model-dir} from {@link #MODEL_DIR} when the engine declares that option ({@code
   * options}, its {@link dev.reelflow.worker.spi.EngineFactory#optionSpec()}) and does not set it.
   */
  public Map<String, String> engineOptions(String name, ConfigSpec options) {
    Map<String, String> out = new TreeMap<>(values.withPrefix("engine." + name + "."));
    String modelDir = values.get(MODEL_DIR);
    if (modelDir != null && !modelDir.isBlank() && options.setting("model-dir") != null) {
      out.putIfAbsent("model-dir", modelDir);
    }
    return out;
  }

  /** Extra Kafka client properties: the {@code kafka.*} family with the prefix removed. */
  public Map<String, String> kafkaOverrides() {
    Map<String, String> out = new TreeMap<>(values.withPrefix("kafka."));
    out.remove("bootstrap.servers"); // a setting of its own
    return out;
  }

  public String bootstrapServers() {
    return values.get(BOOTSTRAP_SERVERS);
  }

  public String schemaRegistryUrl() {
    return values.get(SCHEMA_REGISTRY_URL);
  }

  public String s3Endpoint() {
    return values.get(S3_ENDPOINT);
  }

  public String s3AccessKey() {
    return values.get(S3_ACCESS_KEY);
  }

  public String s3SecretKey() {
    return values.get(S3_SECRET_KEY);
  }

  public String s3Bucket() {
    return values.get(S3_BUCKET);
  }

  public String s3Region() {
    return values.get(S3_REGION);
  }

  /** {@link #FAULT_HOLD_BEFORE_COMPLETED}: zero unless a fault test sets it. */
  public Duration faultHoldBeforeCompleted() {
    return values.get(FAULT_HOLD_BEFORE_COMPLETED);
  }

  public Duration heartbeatInterval() {
    return values.get(HEARTBEAT_INTERVAL);
  }

  public Duration drainGrace() {
    return values.get(DRAIN_GRACE);
  }

  public Duration pollTimeout() {
    return values.get(POLL_TIMEOUT);
  }

  public Duration taskTimeout() {
    return values.get(TASK_TIMEOUT);
  }

  public int dedupeCacheSize() {
    return values.get(DEDUPE_CACHE_SIZE);
  }

  public boolean dedupeCheckStore() {
    return values.get(DEDUPE_CHECK_STORE);
  }

  /**
   * The tensor backend of worker slot {@code slot}: the configured one, and for {@code cuda:N} the
   * GPU {@code N + slot}, so a process with one slot per GPU spreads over the node's GPUs.
   */
  public BackendSpec backend(int slot) {
    BackendSpec b = BackendSpec.parse(values.get(BACKEND));
    return b.isCuda() ? BackendSpec.cuda(b.deviceIndex() + slot) : b;
  }

  /** Configured device name; {@code auto} is resolved by {@link DeviceProbe}. */
  public String deviceName() {
    return values.get(DEVICE_NAME);
  }

  /** Configured memory budget in bytes, or -1 for {@code auto}. */
  public long deviceMemoryBytes() {
    String v = values.get(DEVICE_MEMORY_BYTES);
    return "auto".equals(v) ? -1 : Long.parseLong(v);
  }

  public boolean offloadWeights() {
    return values.get(DEVICE_OFFLOAD_WEIGHTS);
  }

  VideoCodec.Encoder videoEncoder() {
    return VideoCodec.Encoder.parse(values.get(VIDEO_ENCODER));
  }

  public Path workDir() {
    String d = values.get(WORK_DIR);
    return d == null || d.isBlank()
        ? Path.of(System.getProperty("java.io.tmpdir"), "reelflow-worker")
        : Path.of(d);
  }

  public int metricsPort() {
    return values.get(METRICS_PORT);
  }

  public long imageMaxBytes() {
    return values.get(IMAGE_MAX_BYTES);
  }

  public Duration imageFetchTimeout() {
    return values.get(IMAGE_FETCH_TIMEOUT);
  }

  public boolean imageFetchAllowHttp() {
    return values.get(IMAGE_FETCH_ALLOW_HTTP);
  }

  /** A copy with {@code key} set to {@code value}. */
  public WorkerConfig with(String key, String value) {
    return new WorkerConfig(values.with(key, value));
  }

  /** Every value as {@code name = value (source)} lines, secrets masked; printed at start. */
  public String describe() {
    return values.describe();
  }

  @Override
  public String toString() {
    return describe();
  }
}
