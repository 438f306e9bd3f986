package dev.reelflow.bench;

import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads {@code render.stage-events} as the workers wrote them, whichever workers they are (the
 * worker runtime, or emulated ones), and measures a window of renders by their events' own
 * timestamps: first STARTED to last COMPLETED, and per worker the gap from a COMPLETED to its next
 * STARTED (how long a free worker waited for its next task).
 */
final class StageEventTap implements AutoCloseable {
  private final KafkaConsumer<String, StageEvent> consumer;
  private final Thread loop;
  private volatile boolean stop;
  private volatile RuntimeException failure;

  // guarded by this
  private String prefix = "\u0000";
  private final Set<String> completed = new HashSet<>();
  private final Map<String, Long> lastCompletedOf = new HashMap<>();
  private final List<Long> gaps = new ArrayList<>();
  private long firstStart;
  private long lastFinish;

  StageEventTap(String bootstrap, String registryUrl) {
    consumer =
        new KafkaConsumer<>(
            Map.of(
                "bootstrap.servers", bootstrap,
                "enable.auto.commit", "false",
                "fetch.max.wait.ms", "50"),
            new StringDeserializer(),
            AvroRecordDeserializer.builder(StageEvent.class)
                .client(SchemaRegistryClient.create(registryUrl))
                .build());
    List<TopicPartition> parts = new ArrayList<>();
    consumer
        .partitionsFor(Topics.STAGE_EVENTS)
        .forEach(i -> parts.add(new TopicPartition(Topics.STAGE_EVENTS, i.partition())));
    consumer.assign(parts);
    consumer.seekToEnd(parts);
    parts.forEach(consumer::position);
    loop = new Thread(this::run, "stage-event-tap");
    loop.setDaemon(true);
    loop.start();
  }

  /** Starts a window: only renders whose request id starts with {@code requestPrefix} count. */
  synchronized void window(String requestPrefix) {
    prefix = requestPrefix;
    completed.clear();
    lastCompletedOf.clear();
    gaps.clear();
    firstStart = 0;
    lastFinish = 0;
  }

  /** Distinct renders of the window completed. */
  synchronized int completed() {
    check();
    return completed.size();
  }

  /** First STARTED to last COMPLETED of the window, seconds. */
  synchronized double makespanSeconds() {
    return (lastFinish - firstStart) / 1000.0;
  }

  /** The window's COMPLETED-to-next-STARTED gaps per worker, ms, sorted. */
  synchronized List<Long> gaps() {
    List<Long> g = new ArrayList<>(gaps);
    g.sort(null);
    return g;
  }

  private void check() {
    if (failure != null) {
      throw new IllegalStateException("reading stage events failed: " + failure, failure);
    }
  }

  private void run() {
    try {
      while (!stop) {
        for (ConsumerRecord<String, StageEvent> r : consumer.poll(Duration.ofMillis(50))) {
          take(r.value());
        }
      }
    } catch (RuntimeException e) {
      failure = e;
    } finally {
      consumer.close();
    }
  }

  private synchronized void take(StageEvent e) {
    if (!e.getRequestId().startsWith(prefix)) {
      return;
    }
    long at = e.getAt().toEpochMilli();
    if (e.getType() == StageEventType.STARTED) {
      firstStart = firstStart == 0 ? at : Math.min(firstStart, at);
      Long prev = lastCompletedOf.remove(e.getWorkerId());
      if (prev != null) {
        gaps.add(at - prev);
      }
    } else if (e.getType() == StageEventType.COMPLETED) {
      completed.add(e.getRequestId());
      lastCompletedOf.put(e.getWorkerId(), at);
      lastFinish = Math.max(lastFinish, at);
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    loop.join(5_000);
  }
}
