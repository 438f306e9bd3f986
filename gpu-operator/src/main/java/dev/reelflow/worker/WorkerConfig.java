package dev.reelflow.worker;

import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.schemas.avro.Stage;
import java.io.IOException;
import java.io.Reader;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The one typed configuration of a worker process: a properties file, then environment variables
 * {@code REELFLOW_WORKER_<KEY>} (key upper-cased, {@code .} and {@code -} as {@code _}), then
 * explicit overrides (command line). Unknown keys are rejected so typos do not pass silently,
 * except the open families {@code engine.<name>.*} (engine options) and {@code kafka.*} (passed to
 * the Kafka clients without the prefix).
 *
 * <p>Every key, its default and meaning is listed in {@link #KEYS}; {@link #describe()} prints them
 * with secrets masked.
 */
public final class WorkerConfig {

  /** Environment variable prefix for overrides. */
  public static final String ENV_PREFIX = "REELFLOW_WORKER_";

  public static final String POOL = "worker.pool";
  public static final String WORKER_ID = "worker.id";
  public static final String SLOTS = "worker.slots";
  public static final String ENGINE = "engine";
  public static final String BACKEND = "backend";
  public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  public static final String S3_ENDPOINT = "s3.endpoint";
  public static final String S3_ACCESS_KEY = "s3.access-key";
  public static final String S3_SECRET_KEY = "s3.secret-key";
  public static final String S3_BUCKET = "s3.bucket";
  public static final String S3_REGION = "s3.region";
  public static final String HEARTBEAT_INTERVAL_MS = "heartbeat.interval.ms";

  /** Fault injection (reliability suite): pause between a stage's uploads and COMPLETED. */
  public static final String FAULT_HOLD_BEFORE_COMPLETED_MS = "fault.hold-before-completed-ms";

  public static final String DRAIN_GRACE_MS = "drain.grace.ms";
  public static final String POLL_TIMEOUT_MS = "poll.timeout.ms";
  public static final String DEDUPE_CACHE_SIZE = "dedupe.cache.size";
  public static final String DEDUPE_CHECK_STORE = "dedupe.check-store";
  public static final String DEVICE_NAME = "device.name";
  public static final String DEVICE_MEMORY_BYTES = "device.memory.bytes";
  public static final String DEVICE_OFFLOAD_WEIGHTS = "device.offload-weights";
  public static final String VIDEO_ENCODER = "video.encoder";
  public static final String WORK_DIR = "work.dir";
  public static final String METRICS_PORT = "metrics.port";
  public static final String TASK_TIMEOUT_MS = "task.timeout.ms";
  public static final String MODEL_DIR = "model.dir";
  public static final String IMAGE_MAX_BYTES = "image.max-bytes";
  public static final String IMAGE_FETCH_TIMEOUT_MS = "image.fetch.timeout.ms";
  public static final String IMAGE_FETCH_ALLOW_HTTP = "image.fetch.allow-http";
  public static final String IMAGE_FETCH_ALLOW_HOSTS = "image.fetch.allow-hosts";
  public static final String IMAGE_FETCH_DENY_HOSTS = "image.fetch.deny-hosts";

  /** A documented key. */
  public record Key(String name, String defaultValue, boolean secret, String doc) {}

  /** Every fixed key with its default (null: required or derived) and meaning. */
  public static final List<Key> KEYS =
      List.of(
          new Key(POOL, "base", false, "Pool served: base (render.tasks.base) or upscale."),
          new Key(
              WORKER_ID, null, false, "Worker id prefix; default host-pid. Slot i gets <id>-<i>."),
          new Key(SLOTS, "1", false, "Workers started in this process (one per GPU or CPU slot)."),
          new Key(
              ENGINE,
              "native",
              false,
              "Engine: native | resident (a model server kept loaded, engine.resident.*) | command"
                  + " | emulated | <registered>."),
          new Key(
              BACKEND,
              "cpu",
              false,
              "Tensor backend of the native engines: cpu (OpenBLAS), torch (libtorch on the CPU),"
                  + " cuda or cuda:N (libtorch on GPU N; slot i of a multi-slot process gets GPU"
                  + " N+i). cuda without a usable GPU fails at start saying what is missing."),
          new Key(BOOTSTRAP_SERVERS, null, false, "Kafka bootstrap servers (required)."),
          new Key(SCHEMA_REGISTRY_URL, null, false, "Schema registry URL (required)."),
          new Key(S3_ENDPOINT, null, false, "S3 endpoint URL (required)."),
          new Key(S3_ACCESS_KEY, null, false, "S3 access key (required)."),
          new Key(S3_SECRET_KEY, null, true, "S3 secret key (required; masked in logs)."),
          new Key(S3_BUCKET, "reelflow", false, "Artifact bucket."),
          new Key(S3_REGION, "us-east-1", false, "S3 region."),
          new Key(
              HEARTBEAT_INTERVAL_MS,
              "1000",
              false,
              "HEARTBEAT stage-event interval, sent by a thread of its own (not the render's). The"
                  + " orchestrator's task.lease (default 4 s) is a few missed heartbeats; a task"
                  + " whose heartbeats stopped for a lease (a worker frozen, e.g. SIGSTOP) fences"
                  + " itself: it stops before publishing anything."),
          new Key(
              FAULT_HOLD_BEFORE_COMPLETED_MS,
              "0",
              false,
              "Fault injection for the reliability suite only: wait this long between a stage's"
                  + " uploads and its COMPLETED event (heartbeats go on). Never set in"
                  + " production."),
          new Key(
              DRAIN_GRACE_MS,
              "30000",
              false,
              "On SIGTERM: time to finish the task before handing it back (DRAINED)."),
          new Key(
              POLL_TIMEOUT_MS,
              "200",
              false,
              "Kafka poll timeout of the task and command consumers."),
          new Key(
              DEDUPE_CACHE_SIZE,
              "10000",
              false,
              "Task ids remembered as done (LRU) to skip duplicate deliveries."),
          new Key(
              DEDUPE_CHECK_STORE,
              "true",
              false,
              "Also skip a task whose stage manifest already exists in S3."),
          new Key(
              DEVICE_NAME,
              "auto",
              false,
              "Device: auto (GPU 0 if NVML finds one, else cpu), cpu, or a GPU name."),
          new Key(
              DEVICE_MEMORY_BYTES,
              "auto",
              false,
              "Device memory budget in bytes (auto: GPU total, or half the host memory on cpu)."),
          new Key(
              DEVICE_OFFLOAD_WEIGHTS,
              "false",
              false,
              "Offload weights to host memory between blocks (CUDA backend); lowers the memory estimate."),
          new Key(
              VIDEO_ENCODER,
              "auto",
              false,
              "H.264 encoder: auto (h264_nvenc with a GPU, else libopenh264), h264_nvenc, libopenh264."),
          new Key(
              WORK_DIR,
              null,
              false,
              "Scratch directory for task files; default <java.io.tmpdir>/reelflow-worker."),
          new Key(
              METRICS_PORT,
              "9464",
              false,
              "Port of /metrics and /healthz; 0 = any free port, -1 = off."),
          new Key(
              TASK_TIMEOUT_MS,
              "3600000",
              false,
              "A task running longer fails with TIMEOUT (retryable)."),
          new Key(
              MODEL_DIR,
              null,
              false,
              "HunyuanVideo-1.5 checkpoint folder (released layout) for the native engine (the"
                  + " render's resolution and task pick the transformer variant,"
                  + " engine.native.variant-preference) and the latent-sr engine (the SR variant's"
                  + " transformer, upsampler and VAE); default none = seeded random-init weights."),
          new Key(
              IMAGE_MAX_BYTES,
              Long.toString(10L << 20),
              false,
              "Largest reference image of an image-to-video task (encoded bytes; at most 16 MiB);"
                  + " each side at most 8192 px and 50 megapixels."),
          new Key(
              IMAGE_FETCH_TIMEOUT_MS,
              "30000",
              false,
              "Longest fetch of an https imageUrl, redirects included (connect 5 s, read 10 s)."),
          new Key(
              IMAGE_FETCH_ALLOW_HTTP,
              "false",
              false,
              "Fetch http imageUrls besides https: a test override, never for production."),
          new Key(
              IMAGE_FETCH_ALLOW_HOSTS,
              "",
              false,
              "Hosts and address ranges (comma separated) an imageUrl may reach although the SSRF"
                  + " rules refuse them (loopback, private, link-local, ...): the local stack's test"
                  + " servers."),
          new Key(
              IMAGE_FETCH_DENY_HOSTS,
              "",
              false,
              "More hosts and address ranges an imageUrl must never reach; the hosts of"
                  + " s3.endpoint, schema.registry.url and bootstrap.servers are always denied."));

  private static final Map<String, Key> BY_NAME = new LinkedHashMap<>();

  static {
    for (Key k : KEYS) {
      BY_NAME.put(k.name(), k);
    }
  }

  private final Map<String, String> values;

  private WorkerConfig(Map<String, String> values) {
    this.values = Map.copyOf(values);
    validate();
  }

  /** A config from explicit values only (defaults for the rest). */
  public static WorkerConfig of(Map<String, String> values) {
    return load(null, Map.of(), values);
  }

  /**
   * Loads defaults, then {@code file} (may be null), then {@code env} ({@code REELFLOW_WORKER_*}),
   * then {@code overrides}.
   *
   * @throws IllegalArgumentException naming the bad key and what to do
   */
  public static WorkerConfig load(
      Path file, Map<String, String> env, Map<String, String> overrides) {
    Map<String, String> v = new TreeMap<>();
    for (Key k : KEYS) {
      if (k.defaultValue() != null) {
        v.put(k.name(), k.defaultValue());
      }
    }
    if (file != null) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read worker config file " + file + ": " + e, e);
      }
      for (String name : p.stringPropertyNames()) {
        v.put(checkKey(name, "file " + file), p.getProperty(name).trim());
      }
    }
    for (Map.Entry<String, String> e : env.entrySet()) {
      String key = keyOfEnv(e.getKey());
      if (key != null) {
        v.put(key, e.getValue().trim());
      }
    }
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      v.put(checkKey(e.getKey(), "overrides"), e.getValue().trim());
    }
    return new WorkerConfig(v);
  }

  private static String checkKey(String name, String where) {
    if (BY_NAME.containsKey(name) || name.startsWith("engine.") || name.startsWith("kafka.")) {
      return name;
    }
    throw new IllegalArgumentException(
        "unknown worker config key '"
            + name
            + "' in "
            + where
            + "; known keys: "
            + BY_NAME.keySet()
            + ", engine.<name>.*, kafka.*");
  }

  /** The config key of an environment variable, or null when it is not a worker variable. */
  static String keyOfEnv(String env) {
    if (!env.startsWith(ENV_PREFIX)) {
      return null;
    }
    String rest = env.substring(ENV_PREFIX.length());
    for (Key k : KEYS) {
      if (envName(k.name()).equals(env)) {
        return k.name();
      }
    }
    // Open families: ENGINE_<NAME>_<OPTION> and KAFKA_<CLIENT_KEY>.
    if (rest.startsWith("ENGINE_")) {
      String[] parts = rest.substring("ENGINE_".length()).split("_", 2);
      if (parts.length == 2) {
        return "engine."
            + parts[0].toLowerCase(Locale.ROOT)
            + "."
            + parts[1].toLowerCase(Locale.ROOT).replace('_', '-');
      }
    }
    if (rest.startsWith("KAFKA_")) {
      return "kafka."
          + rest.substring("KAFKA_".length()).toLowerCase(Locale.ROOT).replace('_', '.');
    }
    throw new IllegalArgumentException(
        "unknown worker environment variable " + env + "; known: " + envNames());
  }

  /** {@code REELFLOW_WORKER_} + key upper-cased with {@code .} and {@code -} as {@code _}. */
  public static String envName(String key) {
    return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static List<String> envNames() {
    List<String> out = new ArrayList<>();
    for (Key k : KEYS) {
      out.add(envName(k.name()));
    }
    return out;
  }

  private void validate() {
    pool();
    slots();
    positive(HEARTBEAT_INTERVAL_MS);
    nonNegative(DRAIN_GRACE_MS);
    nonNegative(FAULT_HOLD_BEFORE_COMPLETED_MS);
    positive(POLL_TIMEOUT_MS);
    positive(DEDUPE_CACHE_SIZE);
    positive(TASK_TIMEOUT_MS);
    VideoCodec.Encoder.parse(get(VIDEO_ENCODER));
    backend(slots() - 1);
    String mem = get(DEVICE_MEMORY_BYTES);
    if (!"auto".equals(mem)) {
      positive(DEVICE_MEMORY_BYTES);
    }
    metricsPort();
    long image = positive(IMAGE_MAX_BYTES);
    if (image > (16L << 20)) {
      throw new IllegalArgumentException(IMAGE_MAX_BYTES + " must be at most 16 MiB, got " + image);
    }
    positive(IMAGE_FETCH_TIMEOUT_MS);
    if (!get(IMAGE_FETCH_ALLOW_HTTP).matches("(?i)true|false")) {
      throw new IllegalArgumentException(IMAGE_FETCH_ALLOW_HTTP + " must be true or false");
    }
    if (get(ENGINE).isBlank()) {
      throw new IllegalArgumentException(
          ENGINE + " must name an engine (native, resident, command, emulated)");
    }
  }

  /** Fails with a message naming the missing key (and its environment variable). */
  public void requireConnections() {
    for (String k :
        List.of(
            BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY)) {
      if (get(k) == null || get(k).isBlank()) {
        throw new IllegalArgumentException(
            "worker config key " + k + " is required; set it in the config file or " + envName(k));
      }
    }
  }

  private long positive(String key) {
    long v = longValue(key);
    if (v <= 0) {
      throw new IllegalArgumentException(key + " must be > 0, got " + v);
    }
    return v;
  }

  private long nonNegative(String key) {
    long v = longValue(key);
    if (v < 0) {
      throw new IllegalArgumentException(key + " must be >= 0, got " + v);
    }
    return v;
  }

  private long longValue(String key) {
    String s = get(key);
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException | NullPointerException e) {
      throw new IllegalArgumentException(key + " must be an integer, got '" + s + "'");
    }
  }

  /** Raw value of a key, or null. */
  public String get(String key) {
    return values.get(key);
  }

  public Stage pool() {
    String p = get(POOL).toLowerCase(Locale.ROOT);
    return switch (p) {
      case "base" -> Stage.BASE;
      case "upscale" -> Stage.UPSCALE;
      default ->
          throw new IllegalArgumentException(POOL + " must be base or upscale, got '" + p + "'");
    };
  }

  public String workerIdPrefix() {
    String id = get(WORKER_ID);
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
    long s = longValue(SLOTS);
    if (s < 1 || s > 64) {
      throw new IllegalArgumentException(SLOTS + " must be in 1..64, got " + s);
    }
    return (int) s;
  }

  public String engine() {
    return get(ENGINE);
  }

  /**
   * Options of engine {@code name}: keys {@code engine.<name>.*} with the prefix removed, plus
   * {@code model-dir} from {@link #MODEL_DIR} unless the engine's own option sets it.
   */
  public Map<String, String> engineOptions(String name) {
    String prefix = "engine." + name + ".";
    Map<String, String> out = new TreeMap<>();
    values.forEach(
        (k, v) -> {
          if (k.startsWith(prefix)) {
            out.put(k.substring(prefix.length()), v);
          }
        });
    String modelDir = get(MODEL_DIR);
    if (modelDir != null && !modelDir.isBlank()) {
      out.putIfAbsent("model-dir", modelDir);
    }
    return out;
  }

  /** Extra Kafka client properties: keys {@code kafka.*} with the prefix removed. */
  public Map<String, String> kafkaOverrides() {
    Map<String, String> out = new TreeMap<>();
    values.forEach(
        (k, v) -> {
          if (k.startsWith("kafka.")) {
            out.put(k.substring("kafka.".length()), v);
          }
        });
    return out;
  }

  public String bootstrapServers() {
    return get(BOOTSTRAP_SERVERS);
  }

  public String schemaRegistryUrl() {
    return get(SCHEMA_REGISTRY_URL);
  }

  public String s3Endpoint() {
    return get(S3_ENDPOINT);
  }

  public String s3AccessKey() {
    return get(S3_ACCESS_KEY);
  }

  public String s3SecretKey() {
    return get(S3_SECRET_KEY);
  }

  public String s3Bucket() {
    return get(S3_BUCKET);
  }

  public String s3Region() {
    return get(S3_REGION);
  }

  /** {@link #FAULT_HOLD_BEFORE_COMPLETED_MS}: zero unless a fault test sets it. */
  public Duration faultHoldBeforeCompleted() {
    return Duration.ofMillis(longValue(FAULT_HOLD_BEFORE_COMPLETED_MS));
  }

  public Duration heartbeatInterval() {
    return Duration.ofMillis(longValue(HEARTBEAT_INTERVAL_MS));
  }

  public Duration drainGrace() {
    return Duration.ofMillis(longValue(DRAIN_GRACE_MS));
  }

  public Duration pollTimeout() {
    return Duration.ofMillis(longValue(POLL_TIMEOUT_MS));
  }

  public Duration taskTimeout() {
    return Duration.ofMillis(longValue(TASK_TIMEOUT_MS));
  }

  public int dedupeCacheSize() {
    return (int) longValue(DEDUPE_CACHE_SIZE);
  }

  public boolean dedupeCheckStore() {
    return Boolean.parseBoolean(get(DEDUPE_CHECK_STORE));
  }

  /**
   * The tensor backend of worker slot {@code slot}: the configured one, and for {@code cuda:N} the
   * GPU {@code N + slot}, so a process with one slot per GPU spreads over the node's GPUs.
   */
  public BackendSpec backend(int slot) {
    BackendSpec b;
    try {
      b = BackendSpec.parse(get(BACKEND));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(BACKEND + ": " + e.getMessage(), e);
    }
    return b.isCuda() ? BackendSpec.cuda(b.deviceIndex() + slot) : b;
  }

  /** Configured device name; {@code auto} is resolved by {@link DeviceProbe}. */
  public String deviceName() {
    return get(DEVICE_NAME);
  }

  /** Configured memory budget in bytes, or -1 for {@code auto}. */
  public long deviceMemoryBytes() {
    return "auto".equals(get(DEVICE_MEMORY_BYTES)) ? -1 : longValue(DEVICE_MEMORY_BYTES);
  }

  public boolean offloadWeights() {
    return Boolean.parseBoolean(get(DEVICE_OFFLOAD_WEIGHTS));
  }

  VideoCodec.Encoder videoEncoder() {
    return VideoCodec.Encoder.parse(get(VIDEO_ENCODER));
  }

  public Path workDir() {
    String d = get(WORK_DIR);
    return d == null || d.isBlank()
        ? Path.of(System.getProperty("java.io.tmpdir"), "reelflow-worker")
        : Path.of(d);
  }

  public int metricsPort() {
    long p = longValue(METRICS_PORT);
    if (p < -1 || p > 65535) {
      throw new IllegalArgumentException(METRICS_PORT + " must be -1..65535, got " + p);
    }
    return (int) p;
  }

  /** A copy with {@code key} set to {@code value}. */
  public WorkerConfig with(String key, String value) {
    Map<String, String> v = new TreeMap<>(values);
    v.put(checkKey(key, "with()"), value);
    return new WorkerConfig(v);
  }

  /** All values as {@code key = value} lines, sorted, secrets masked; printed at start. */
  public String describe() {
    StringBuilder sb =
        new StringBuilder("worker config (pid ")
            .append(ManagementFactory.getRuntimeMXBean().getPid())
            .append("):");
    new TreeMap<>(values)
        .forEach((k, v) -> sb.append("\n  ").append(k).append(" = ").append(masked(k, v)));
    return sb.toString();
  }

  static String masked(String key, String value) {
    Key k = BY_NAME.get(key);
    boolean secret =
        (k != null && k.secret())
            || key.contains("password")
            || key.contains("secret")
            || key.endsWith("jaas.config")
            || key.endsWith("user.info");
    return secret && value != null && !value.isEmpty() ? "********" : value;
  }

  @Override
  public String toString() {
    return describe();
  }
}
