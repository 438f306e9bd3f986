package dev.reelflow.worker;

import com.sun.net.httpserver.HttpExchange;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The workers of one process: {@code worker.slots} workers of one pool sharing a Kafka producer, an
 * artifact store, the render.commands listener, the dedupe ledger, metrics and {@code /healthz}
 * (per worker: alive, healthy, its task, and its engine's state with the reason when not ready).
 *
 * <p>Start with {@link #start(WorkerConfig)}; {@link #drain()} (what SIGTERM does through {@link
 * WorkerMain}) announces DRAINING, finishes or hands back the running tasks, leaves the group and
 * announces STOPPED.
 */
public final class WorkerProcess implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerProcess.class);

  /** Consumer group of each pool. */
  public static String groupId(Stage pool) {
    return pool == Stage.BASE ? "reelflow.pool.base" : "reelflow.pool.upscale";
  }

  private final WorkerConfig config;
  private final List<Worker> workers = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final Producer<String, SpecificRecord> producer;
  private final ArtifactStore store;
  private final CommandListener commands;
  private final ScheduledExecutorService ticker;
  private final HTTPServer http;
  private final TaskLedger ledger;
  private final GpuTelemetry gpus;
  private volatile boolean drained;

  private WorkerProcess(WorkerConfig config, EngineRegistry engines)
      throws EngineException, IOException {
    this.config = config;
    config.requireConnections();
    LOG.info("{}", config.describe());
    gpus = GpuTelemetry.open();
    DeviceProbe.Device device = DeviceProbe.resolve(config, gpus);
    LOG.info(
        "device {} with a memory budget of {} MiB (offload weights: {})",
        device.name(),
        device.memoryBytes() >> 20,
        config.offloadWeights());
    Stage pool = config.pool();
    LOG.info("video encoder: {}", VideoCodec.describe(config.videoEncoder()));
    WorkerMetrics metrics = new WorkerMetrics(pool.name(), device.memoryBytes(), gpus);
    ledger = new TaskLedger(config.dedupeCacheSize());

    SchemaRegistryClient registry = SchemaRegistryClient.create(config.schemaRegistryUrl());
    Map<String, Object> producerProps = new HashMap<>();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
    producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    producerProps.put(ProducerConfig.CLIENT_ID_CONFIG, config.workerIdPrefix() + "-events");
    producerProps.putAll(config.kafkaOverrides());
    AvroRecordSerializer<SpecificRecord> valueSerializer =
        AvroRecordSerializer.<SpecificRecord>builder().client(registry).build();
    producer = new KafkaProducer<>(producerProps, new StringSerializer(), valueSerializer);

    store =
        ArtifactStore.builder()
            .endpoint(config.s3Endpoint())
            .credentials(config.s3AccessKey(), config.s3SecretKey())
            .bucket(config.s3Bucket())
            .region(config.s3Region())
            .build();

    Map<String, Object> commandProps = new HashMap<>();
    commandProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    commandProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    commandProps.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    commandProps.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    commandProps.put(ConsumerConfig.CLIENT_ID_CONFIG, config.workerIdPrefix() + "-commands");
    commandProps.putAll(config.kafkaOverrides());
    commands =
        new CommandListener(
            commandProps,
            AvroRecordDeserializer.builder(RenderCommand.class).client(registry).build(),
            this::cancel);

    Map<String, Object> taskProps = new HashMap<>();
    taskProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    taskProps.put(ConsumerConfig.GROUP_ID_CONFIG, groupId(pool));
    taskProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    taskProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    taskProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
    // A killed worker stays in the group until its session times out, and a worker starting
    // meanwhile waits for that rebalance: 10 s instead of Kafka's 45 s (heartbeats come from the
    // consumer's own thread every 3 s, so a long render never ends the session).
    taskProps.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
    taskProps.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 3_000);
    taskProps.put(
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor");
    taskProps.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    taskProps.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    taskProps.putAll(config.kafkaOverrides());
    AvroRecordDeserializer<RenderTask> taskReader =
        AvroRecordDeserializer.builder(RenderTask.class).client(registry).build();

    String prefix = config.workerIdPrefix();
    for (int slot = 0; slot < config.slots(); slot++) {
      String id =
          config.slots() == 1 && config.get(WorkerConfig.WORKER_ID) != null
              ? prefix
              : prefix + "-" + slot;
      BackendSpec backend = config.backend(slot);
      DeviceProbe.Device dev = DeviceProbe.forSlot(device, backend, gpus, config);
      EngineSettings settings =
          new EngineSettings(
              config.engine(),
              config.engineOptions(config.engine(), engines.factory(config.engine()).optionSpec()),
              dev.name(),
              dev.memoryBytes(),
              config.offloadWeights(),
              backend);
      LOG.info("slot {}: backend {} on {}", id, backend, dev.name());
      StageRunner runner;
      if (pool == Stage.BASE) {
        BaseVideoEngine engine = engines.createBase(settings);
        bindResident(engine, metrics, id);
        runner =
            new BaseStage(
                engine,
                store,
                id,
                config.videoEncoder(),
                dev.memoryBytes(),
                config.offloadWeights(),
                ReferenceImageLoader.of(config, store));
      } else {
        UpscaleEngine engine = engines.createUpscale(settings);
        bindResident(engine, metrics, id);
        runner =
            new UpscaleStage(
                engine,
                store,
                id,
                config.videoEncoder(),
                dev.memoryBytes(),
                config.offloadWeights(),
                ReferenceImageLoader.of(config, store));
      }
      Map<String, Object> props = new HashMap<>(taskProps);
      props.put(ConsumerConfig.CLIENT_ID_CONFIG, id);
      Worker.Shared own =
          new Worker.Shared(
              config, producer, taskReader, store, ledger, metrics, props, dev.memoryBytes());
      StageEvents events =
          new StageEvents(
              producer,
              new StageEvents.Identity(id, pool, dev.name(), dev.memoryBytes(), config.engine()));
      workers.add(new Worker(id, own, runner, events));
    }
    ticker =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "worker-heartbeats");
              t.setDaemon(true);
              return t;
            });
    long hb = config.heartbeatInterval().toMillis();
    ticker.scheduleAtFixedRate(
        () -> {
          for (Worker w : workers) {
            try {
              w.heartbeat();
            } catch (RuntimeException e) {
              LOG.warn("heartbeat of {} failed: {}", w.id(), e.toString());
            }
          }
        },
        hb,
        hb,
        TimeUnit.MILLISECONDS);
    http = config.metricsPort() >= 0 ? startHttp(config.metricsPort(), metrics) : null;
    commands.start();
    for (Worker w : workers) {
      Thread t = new Thread(w, "worker-" + w.id());
      threads.add(t);
      t.start();
    }
    LOG.info("started {} {} worker(s): {}", workers.size(), pool, workerIds());
  }

  /**
   * A resident engine reports its protocol messages, restarts and loads in this process's metrics.
   */
  private static void bindResident(Object engine, WorkerMetrics metrics, String workerId) {
    if (engine instanceof ResidentEngine r) {
      r.bindMetrics(metrics, workerId);
    }
  }

  /** Starts the workers with the built-in engines and those registered through ServiceLoader. */
  public static WorkerProcess start(WorkerConfig config) throws EngineException, IOException {
    return new WorkerProcess(config, BuiltinEngines.registry());
  }

  /** Starts the workers with the given engines (e.g. upscale-stage's, registered explicitly). */
  public static WorkerProcess start(WorkerConfig config, EngineRegistry engines)
      throws EngineException, IOException {
    return new WorkerProcess(config, engines);
  }

  /** The built-in engines (command, emulated, native when available) plus ServiceLoader ones. */
  public static EngineRegistry.Builder builtinEngines() {
    EngineRegistry.Builder b = EngineRegistry.builder();
    BuiltinEngines.all().forEach(b::register);
    return b.discover(WorkerProcess.class.getClassLoader());
  }

  public List<String> workerIds() {
    return workers.stream().map(Worker::id).toList();
  }

  /** Port of {@code /metrics} and {@code /healthz}, or -1 when disabled. */
  public int metricsPort() {
    return http == null ? -1 : http.getPort();
  }

  /** Waits until every worker joined its group (READY sent), for tests and the CLI. */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    for (Worker w : workers) {
      long left = end - System.nanoTime();
      if (left <= 0 || !w.awaitJoined(Duration.ofNanos(left))) {
        return false;
      }
    }
    return true;
  }

  /** True while every worker thread runs and none is draining. */
  public boolean healthy() {
    return !drained && workers.stream().allMatch(Worker::healthy);
  }

  private void cancel(String requestId, String reason) {
    ledger.cancelled(requestId);
    for (Worker w : workers) {
      w.cancel(requestId, reason);
    }
  }

  /**
   * Graceful stop: DRAINING, running tasks finish within {@code drain.grace} or are handed back
   * (FAILED, retryable, DRAINED), the consumers leave the group, STOPPED. Blocks until done.
   */
  public void drain() {
    if (drained) {
      return;
    }
    drained = true;
    LOG.info("draining {} worker(s)", workers.size());
    workers.forEach(Worker::drain);
    awaitWorkers(config.drainGrace().plusSeconds(60));
    release();
  }

  /** Stops at once: running tasks are handed back (DRAINED), then as {@link #drain()}. */
  @Override
  public void close() {
    if (!drained) {
      drained = true;
      workers.forEach(Worker::stopNow);
      awaitWorkers(Duration.ofSeconds(60));
      release();
    }
  }

  private void awaitWorkers(Duration max) {
    long end = System.nanoTime() + max.toNanos();
    for (Thread t : threads) {
      try {
        t.join(Math.max(1, (end - System.nanoTime()) / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void release() {
    ticker.shutdownNow();
    commands.close();
    producer.close(Duration.ofSeconds(10));
    store.close();
    if (http != null) {
      http.close();
    }
    gpus.close();
    LOG.info("worker process stopped");
  }

  private static String jsonString(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  private HTTPServer startHttp(int port, WorkerMetrics metrics) throws IOException {
    return HTTPServer.builder()
        .port(port)
        .registry(metrics.registry)
        .defaultHandler(this::health)
        .buildAndStart();
  }

  /** {@code /healthz}: 200 while all workers run and none drains, else 503; JSON body. */
  private void health(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      if (!path.equals("/healthz") && !path.equals("/")) {
        ex.sendResponseHeaders(404, -1);
        return;
      }
      boolean ok = healthy();
      StringBuilder body =
          new StringBuilder("{\"status\":\"").append(ok ? "UP" : "DOWN").append("\",\"workers\":[");
      for (int i = 0; i < workers.size(); i++) {
        Worker w = workers.get(i);
        TaskRun r = w.running();
        body.append(i == 0 ? "" : ",")
            .append("{\"id\":\"")
            .append(w.id())
            .append("\",\"alive\":")
            .append(w.alive())
            .append(",\"healthy\":")
            .append(w.healthy())
            .append(",\"task\":")
            .append(r == null ? "null" : "\"" + r.task.getTaskId() + "\"")
            .append(",\"engine\":\"")
            .append(w.engineStatus().state())
            .append("\",\"engineReason\":")
            .append(jsonString(w.engineStatus().reason()))
            .append('}');
      }
      body.append("]}");
      byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(ok ? 200 : 503, bytes.length);
      try (OutputStream os = ex.getResponseBody()) {
        os.write(bytes);
      }
    }
  }
}
