package dev.reelflow.worker;

import dev.reelflow.schemas.Topic;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The test plays the orchestrator (ARCHITECTURE.md, decision 1): it provisions the topics, writes
 * tasks to the partition a worker announced, sends commands and collects every stage and worker
 * event.
 */
final class OrchestratorDouble implements AutoCloseable {
  static final int TASK_PARTITIONS = 4;

  final LocalStack stack;
  final ArtifactStore store;
  private final KafkaProducer<String, SpecificRecord> producer;
  private final KafkaConsumer<String, byte[]> consumer;
  private final AvroRecordDeserializer<StageEvent> stageReader;
  private final AvroRecordDeserializer<WorkerEvent> workerReader;
  final List<StageEvent> stageEvents = new CopyOnWriteArrayList<>();
  final List<WorkerEvent> workerEvents = new CopyOnWriteArrayList<>();
  private final Thread reader;
  private volatile boolean closed;

  OrchestratorDouble(LocalStack stack) {
    this.stack = stack;
    TopicProvisioner.builder()
        .bootstrapServers(stack.bootstrapServers())
        .topics(
            Topics.builder()
                .partitions(Topic.TASKS_BASE, TASK_PARTITIONS)
                .partitions(Topic.TASKS_UPSCALE, TASK_PARTITIONS)
                .build())
        .build()
        .provision();
    SchemaRegistryClient registry = SchemaRegistryClient.create(stack.schemaRegistryUrl());
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    producer =
        new KafkaProducer<>(
            p,
            new StringSerializer(),
            AvroRecordSerializer.<SpecificRecord>builder().client(registry).build());
    stageReader = AvroRecordDeserializer.builder(StageEvent.class).client(registry).build();
    workerReader = AvroRecordDeserializer.builder(WorkerEvent.class).client(registry).build();
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    consumer = new KafkaConsumer<>(c);
    List<TopicPartition> all = new ArrayList<>();
    for (String t : List.of(Topics.STAGE_EVENTS, Topics.WORKER_EVENTS)) {
      for (PartitionInfo i : consumer.partitionsFor(t)) {
        all.add(new TopicPartition(t, i.partition()));
      }
    }
    consumer.assign(all);
    consumer.seekToBeginning(all);
    reader = new Thread(this::read, "orchestrator-double");
    reader.setDaemon(true);
    reader.start();
    store =
        ArtifactStore.builder()
            .endpoint(stack.s3Endpoint())
            .credentials(stack.s3AccessKey(), stack.s3SecretKey())
            .bucket(stack.bucket())
            .region(stack.s3Region())
            .build();
  }

  private void read() {
    try {
      while (!closed) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          SpecificRecord e =
              r.topic().equals(Topics.STAGE_EVENTS)
                  ? stageReader.deserialize(r.topic(), r.value())
                  : workerReader.deserialize(r.topic(), r.value());
          if (e instanceof StageEvent se) {
            stageEvents.add(se);
          } else {
            workerEvents.add((WorkerEvent) e);
          }
        }
      }
    } catch (org.apache.kafka.common.errors.WakeupException e) {
      // closing
    } finally {
      consumer.close();
    }
  }

  /** Worker config for this stack with test-friendly timings. */
  Map<String, String> workerConfig(String workerId, String engine) {
    Map<String, String> m = new HashMap<>();
    m.put(WorkerConfig.WORKER_ID.name(), workerId);
    m.put(WorkerConfig.ENGINE.name(), engine);
    m.put(WorkerConfig.BOOTSTRAP_SERVERS.name(), stack.bootstrapServers());
    m.put(WorkerConfig.SCHEMA_REGISTRY_URL.name(), stack.schemaRegistryUrl());
    m.put(WorkerConfig.S3_ENDPOINT.name(), stack.s3Endpoint());
    m.put(WorkerConfig.S3_ACCESS_KEY.name(), stack.s3AccessKey());
    m.put(WorkerConfig.S3_SECRET_KEY.name(), stack.s3SecretKey());
    m.put(WorkerConfig.S3_BUCKET.name(), stack.bucket());
    m.put(WorkerConfig.S3_REGION.name(), stack.s3Region());
    m.put(WorkerConfig.HEARTBEAT_INTERVAL.name(), "300ms");
    m.put(WorkerConfig.METRICS_PORT.name(), "0");
    m.put(WorkerConfig.DEVICE_NAME.name(), "cpu");
    m.put(WorkerConfig.DEVICE_MEMORY_BYTES.name(), Long.toString(4L << 30));
    m.put("kafka.session.timeout.ms", "6000");
    m.put("kafka.heartbeat.interval.ms", "1000");
    return m;
  }

  /** A base task for a preview render. */
  static RenderTask task(
      String requestId,
      int attempt,
      int frames,
      int steps,
      boolean publishFinal,
      long leaseMillis) {
    Instant created = Instant.parse("2026-11-25T10:00:00Z");
    return RenderTask.newBuilder()
        .setTaskId(requestId + ":BASE:" + attempt)
        .setRequestId(requestId)
        .setTenant("demo")
        .setStage(Stage.BASE)
        .setAttempt(attempt)
        .setParams(
            RenderParams.newBuilder()
                .setPrompt("a paper boat drifting down a rainy street")
                .setResolution(Resolution.PREVIEW)
                .setAspectRatio(AspectRatio.AR_16_9)
                .setFrames(frames)
                .setFps(24)
                .setSteps(steps)
                .setSeed(42)
                .setUpscale(publishFinal ? UpscaleTarget.NONE : UpscaleTarget.P1080)
                .build())
        .setOutputPrefix(ArtifactKeys.stagePrefix("demo", created, requestId, Stage.BASE, attempt))
        .setFinalPrefix(ArtifactKeys.finalPrefix("demo", created, requestId))
        .setPublishFinal(publishFinal)
        .setLeaseMillis(leaseMillis)
        .setCreatedAt(created)
        .setDispatchedAt(Instant.now())
        .build();
  }

  /** Writes a task to an explicit partition (as the dispatch scheduler does). */
  void dispatch(RenderTask task, int partition) throws Exception {
    dispatch(task, partition, Instant.now());
  }

  /** As {@link #dispatch(RenderTask, int)}, as if released at {@code dispatchedAt}. */
  void dispatch(RenderTask task, int partition, Instant dispatchedAt) throws Exception {
    RenderTask t = RenderTask.newBuilder(task).setDispatchedAt(dispatchedAt).build();
    producer.send(new ProducerRecord<>(Topics.TASKS_BASE, partition, t.getRequestId(), t)).get();
  }

  /** Writes raw bytes (not Confluent wire format) to a task partition. */
  void dispatchRaw(String key, byte[] value, int partition) throws Exception {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    try (KafkaProducer<String, byte[]> raw =
        new KafkaProducer<>(
            p,
            new StringSerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      raw.send(new ProducerRecord<>(Topics.TASKS_BASE, partition, key, value)).get();
    }
  }

  /** Dead letters on render.dlq, read from the beginning until one matches or time runs out. */
  dev.reelflow.schemas.avro.DeadLetter awaitDeadLetter(String key, Duration timeout) {
    AvroRecordDeserializer<dev.reelflow.schemas.avro.DeadLetter> r =
        AvroRecordDeserializer.builder(dev.reelflow.schemas.avro.DeadLetter.class)
            .client(SchemaRegistryClient.create(stack.schemaRegistryUrl()))
            .build();
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<String, byte[]> dlq = new KafkaConsumer<>(c)) {
      List<TopicPartition> parts = new ArrayList<>();
      for (PartitionInfo i : dlq.partitionsFor(Topics.DLQ)) {
        parts.add(new TopicPartition(Topics.DLQ, i.partition()));
      }
      dlq.assign(parts);
      dlq.seekToBeginning(parts);
      long end = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < end) {
        for (ConsumerRecord<String, byte[]> rec : dlq.poll(Duration.ofMillis(200))) {
          if (key.equals(rec.key())) {
            return r.deserialize(rec.topic(), rec.value());
          }
        }
      }
    }
    throw new AssertionError("no dead letter with key " + key + " within " + timeout);
  }

  void cancel(String requestId) throws Exception {
    RenderCommand cmd =
        RenderCommand.newBuilder()
            .setCommandId("c-" + requestId)
            .setRequestId(requestId)
            .setTenant("demo")
            .setType(CommandType.CANCEL)
            .setReason("test cancel")
            .setIssuedAt(Instant.now())
            .build();
    producer.send(new ProducerRecord<>(Topics.COMMANDS, requestId, cmd)).get();
  }

  /** The latest READY of a worker with partitions, waiting for it. */
  WorkerEvent awaitReady(String workerId, Duration timeout) throws InterruptedException {
    return awaitWorker(
        e ->
            e.getWorkerId().equals(workerId)
                && e.getType() == WorkerEventType.READY
                && !e.getOwnedPartitions().isEmpty()
                && e.getFreeSlots() > 0,
        timeout);
  }

  WorkerEvent awaitWorker(Predicate<WorkerEvent> p, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      List<WorkerEvent> snapshot = new ArrayList<>(workerEvents);
      for (int i = snapshot.size() - 1; i >= 0; i--) {
        if (p.test(snapshot.get(i))) {
          return snapshot.get(i);
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError(
        "no matching worker event within " + timeout + "; saw " + workerEvents);
  }

  StageEvent await(String taskId, StageEventType type, Duration timeout)
      throws InterruptedException {
    return await(e -> e.getTaskId().equals(taskId) && e.getType() == type, timeout);
  }

  StageEvent await(Predicate<StageEvent> p, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      Optional<StageEvent> e = stageEvents.stream().filter(p).findFirst();
      if (e.isPresent()) {
        return e.get();
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no matching stage event within " + timeout + "; saw " + stageEvents);
  }

  List<StageEvent> events(String taskId) {
    return stageEvents.stream().filter(e -> e.getTaskId().equals(taskId)).toList();
  }

  List<StageEvent> eventsOfRender(String requestId) {
    return stageEvents.stream().filter(e -> e.getRequestId().equals(requestId)).toList();
  }

  @Override
  public void close() {
    closed = true;
    consumer.wakeup();
    try {
      reader.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close();
    store.close();
  }
}
