package dev.reelflow.e2e;

import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Everything the pipeline publishes on render.stage-events, render.worker-events, render.status and
 * render.dlq, read from the beginning with a {@code read_committed} consumer (so the status records
 * counted are exactly the ones committed by the orchestrator's transactions).
 */
final class EventLog implements AutoCloseable {

  /**
   * Key prefix of the poison records the fault suite injects: skipped here (they are unreadable on
   * purpose), their dead letters are checked by {@link RenderHistoryChecker}.
   */
  static final String POISON_KEY_PREFIX = "e2e-poison-";

  /** A render.dlq record: its DeadLetter value and headers. */
  record Dead(DeadLetter letter, Map<String, String> headers) {}

  final List<StageEvent> stageEvents = new CopyOnWriteArrayList<>();
  final List<WorkerEvent> workerEvents = new CopyOnWriteArrayList<>();
  final List<RenderStatus> statuses = new CopyOnWriteArrayList<>();
  final List<Dead> deadLetters = new CopyOnWriteArrayList<>();
  private final List<String> errors = new CopyOnWriteArrayList<>();

  /** The next offset this reader will read, per partition (for hang reports). */
  private final Map<TopicPartition, Long> positions =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final KafkaConsumer<String, byte[]> consumer;
  private final AvroRecordDeserializer<StageEvent> stageReader;
  private final AvroRecordDeserializer<WorkerEvent> workerReader;
  private final AvroRecordDeserializer<RenderStatus> statusReader;
  private final AvroRecordDeserializer<DeadLetter> deadReader;
  private final Thread reader;
  private volatile boolean closed;

  EventLog(String bootstrapServers, String registryUrl) {
    SchemaRegistryClient registry = SchemaRegistryClient.create(registryUrl);
    stageReader = AvroRecordDeserializer.builder(StageEvent.class).client(registry).build();
    workerReader = AvroRecordDeserializer.builder(WorkerEvent.class).client(registry).build();
    statusReader = AvroRecordDeserializer.builder(RenderStatus.class).client(registry).build();
    deadReader = AvroRecordDeserializer.builder(DeadLetter.class).client(registry).build();
    consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed"),
            new StringDeserializer(),
            new ByteArrayDeserializer());
    List<TopicPartition> all = new ArrayList<>();
    for (String t : List.of(Topics.STAGE_EVENTS, Topics.WORKER_EVENTS, Topics.STATUS, Topics.DLQ)) {
      for (PartitionInfo i : consumer.partitionsFor(t)) {
        all.add(new TopicPartition(t, i.partition()));
      }
    }
    consumer.assign(all);
    consumer.seekToBeginning(all);
    reader = new Thread(this::read, "e2e-event-log");
    reader.setDaemon(true);
    reader.start();
  }

  private void read() {
    try {
      while (!closed) {
        var records = consumer.poll(Duration.ofMillis(100));
        for (TopicPartition tp : consumer.assignment()) {
          try {
            positions.put(tp, consumer.position(tp, Duration.ZERO));
          } catch (org.apache.kafka.common.errors.TimeoutException e) {
            // not known yet (still resetting): reported as missing
          }
        }
        for (ConsumerRecord<String, byte[]> r : records) {
          if (!r.topic().equals(Topics.DLQ)
              && r.key() != null
              && r.key().startsWith(POISON_KEY_PREFIX)) {
            continue; // injected on purpose by the fault suite: checked on render.dlq instead
          }
          try {
            switch (r.topic()) {
              case Topics.STAGE_EVENTS ->
                  stageEvents.add(stageReader.deserialize(r.topic(), r.value()));
              case Topics.WORKER_EVENTS ->
                  workerEvents.add(workerReader.deserialize(r.topic(), r.value()));
              case Topics.STATUS -> {
                if (r.value() != null) {
                  statuses.add(statusReader.deserialize(r.topic(), r.value()));
                }
              }
              default -> {
                Map<String, String> headers = new java.util.LinkedHashMap<>();
                r.headers()
                    .forEach(
                        h ->
                            headers.put(
                                h.key(),
                                h.value() == null
                                    ? null
                                    : new String(
                                        h.value(), java.nio.charset.StandardCharsets.UTF_8)));
                deadLetters.add(new Dead(deadReader.deserialize(r.topic(), r.value()), headers));
              }
            }
          } catch (RuntimeException e) {
            // A record the test cannot read is itself a finding: remembered and reported.
            errors.add(r.topic() + "@" + r.partition() + ":" + r.offset() + " " + e);
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } finally {
      consumer.close();
    }
  }

  /**
   * Where this read_committed reader stands on {@code topic}: the next offset per partition (it
   * stops at the last stable offset, so a stall here and a pinned LSO tell apart).
   */
  String positions(String topic) {
    return new java.util.TreeMap<>(
            positions.entrySet().stream()
                .filter(e -> e.getKey().topic().equals(topic))
                .collect(
                    java.util.stream.Collectors.toMap(
                        e -> e.getKey().partition(), Map.Entry::getValue)))
        .toString();
  }

  /** Records of the four topics that could not be decoded (should stay empty). */
  List<String> unreadable() {
    return List.copyOf(errors);
  }

  List<StageEvent> events(String requestId) {
    return stageEvents.stream().filter(e -> e.getRequestId().equals(requestId)).toList();
  }

  List<RenderStatus> statuses(String requestId) {
    return statuses.stream().filter(s -> s.getRequestId().equals(requestId)).toList();
  }

  /**
   * What the pipeline published about a render, for failure messages: its statuses and its stage
   * events (heartbeats left out).
   */
  String describe(String requestId) {
    StringBuilder sb = new StringBuilder("render ").append(requestId).append(":");
    statuses(requestId)
        .forEach(
            s ->
                sb.append("\n  status ")
                    .append(s.getState())
                    .append(" attempt ")
                    .append(s.getAttempt())
                    .append("/")
                    .append(s.getAttempts())
                    .append(" worker ")
                    .append(s.getWorkerId())
                    .append(" v")
                    .append(s.getVersion())
                    .append(" at ")
                    .append(s.getUpdatedAt())
                    .append(s.getError() == null ? "" : " " + s.getError()));
    events(requestId).stream()
        .filter(e -> e.getType() != StageEventType.HEARTBEAT)
        .forEach(
            e ->
                sb.append("\n  event ")
                    .append(e.getTaskId())
                    .append(" ")
                    .append(e.getType())
                    .append(" ")
                    .append(e.getWorkerId())
                    .append(" step ")
                    .append(e.getStep())
                    .append(" at ")
                    .append(e.getAt())
                    .append(e.getError() == null ? "" : " " + e.getError()));
    return sb.toString();
  }

  /** Waits until every worker of {@code jvms} announced READY; fails with the worker's log tail. */
  void awaitReady(Duration timeout, List<WorkerJvm> jvms) {
    for (WorkerJvm jvm : jvms) {
      try {
        awaitWorker(
            timeout,
            "READY from worker " + jvm.id,
            e -> jvm.owns(e.getWorkerId()) && e.getType() == WorkerEventType.READY);
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "\n--- worker log ---\n" + jvm.tail(), e);
      }
    }
  }

  StageEvent awaitStage(Duration timeout, String what, Predicate<StageEvent> p) {
    return Await.until(timeout, what, () -> stageEvents.stream().filter(p).findFirst());
  }

  WorkerEvent awaitWorker(Duration timeout, String what, Predicate<WorkerEvent> p) {
    return Await.until(timeout, what, () -> workerEvents.stream().filter(p).findFirst());
  }

  RenderStatus awaitStatus(Duration timeout, String what, Predicate<RenderStatus> p) {
    return Await.until(timeout, what, () -> statuses.stream().filter(p).findFirst());
  }

  Dead awaitDead(Duration timeout, String what, Predicate<Dead> p) {
    return Await.until(timeout, what, () -> deadLetters.stream().filter(p).findFirst());
  }

  Optional<StageEvent> last(String requestId) {
    List<StageEvent> e = events(requestId);
    return e.isEmpty() ? Optional.empty() : Optional.of(e.get(e.size() - 1));
  }

  @Override
  public void close() {
    closed = true;
    consumer.wakeup();
    try {
      reader.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
