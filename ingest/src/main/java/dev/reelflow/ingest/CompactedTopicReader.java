package dev.reelflow.ingest;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replays a topic from the beginning into a view and then follows it: every partition assigned, no
 * consumer group, read_committed. Made for compacted topics; render.lineage, which is not, goes
 * into a view that bounds itself ({@link LineageView}). Several ingest instances each read the
 * whole topic, so they agree. {@link #catchUp} gives read-your-writes across instances: it waits
 * until this reader has consumed everything committed before the call.
 */
final class CompactedTopicReader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CompactedTopicReader.class);

  private final String topic;
  private final Properties consumerProps;
  private final Admin admin;
  private final Consumer<ConsumerRecord<String, byte[]>> handler;
  private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
  private final Object progress = new Object();
  private final Thread thread;
  private final Runnable onReplayed;
  private volatile KafkaConsumer<String, byte[]> consumer;
  private volatile boolean running = true;
  private volatile boolean replayed;

  CompactedTopicReader(
      String bootstrapServers,
      String topic,
      String clientId,
      Consumer<ConsumerRecord<String, byte[]>> handler,
      Runnable onReplayed) {
    this.onReplayed = onReplayed;
    this.topic = topic;
    this.handler = handler;
    consumerProps = new Properties();
    consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    consumerProps.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-" + topic);
    consumerProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    Properties a = new Properties();
    a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    this.admin = Admin.create(a);
    this.thread = new Thread(this::run, "reelflow-view-" + topic);
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  boolean replayed() {
    return replayed;
  }

  /** Waits for the first full replay of the topic. */
  boolean awaitReplayed(Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    synchronized (progress) {
      while (!replayed) {
        long left = until - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(progress, left);
      }
    }
    return true;
  }

  /**
   * Waits until every record committed to the topic before this call has been applied. False when
   * the broker could not be asked or the reader did not get there in time.
   */
  boolean catchUp(Duration timeout) {
    long until = System.nanoTime() + timeout.toNanos();
    Map<TopicPartition, Long> ends;
    try {
      List<TopicPartition> parts =
          admin
              .describeTopics(List.of(topic))
              .allTopicNames()
              .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
              .get(topic)
              .partitions()
              .stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .collect(Collectors.toList());
      Map<TopicPartition, OffsetSpec> spec = new HashMap<>();
      parts.forEach(p -> spec.put(p, OffsetSpec.latest()));
      ends = new HashMap<>();
      admin
          .listOffsets(spec, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
          .all()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .forEach((tp, info) -> ends.put(tp, info.offset()));
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
        return true; // nothing was ever written to it
      }
      LOG.warn("Catch-up of {} could not read end offsets: {}", topic, e.toString());
      return false;
    }
    synchronized (progress) {
      while (!reached(ends)) {
        long left = until - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(progress, Math.min(left, 50_000_000L));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return true;
  }

  private boolean reached(Map<TopicPartition, Long> ends) {
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      if (e.getValue() > 0 && positions.getOrDefault(e.getKey(), 0L) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  private void run() {
    try (KafkaConsumer<String, byte[]> c =
        new KafkaConsumer<>(consumerProps, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer = c;
      List<TopicPartition> parts = awaitPartitions(c);
      if (parts == null) {
        return;
      }
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> initialEnds = c.endOffsets(parts);
      while (running) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          try {
            handler.accept(r);
          } catch (RuntimeException e) {
            LOG.warn(
                "Skipping unreadable record {}-{}@{}: {}",
                r.topic(),
                r.partition(),
                r.offset(),
                e.toString());
          }
        }
        for (TopicPartition tp : parts) {
          positions.put(tp, c.position(tp));
        }
        synchronized (progress) {
          if (!replayed && reached(initialEnds)) {
            onReplayed.run();
            replayed = true;
            LOG.info("Replayed {} ({} partitions)", topic, parts.size());
          }
          progress.notifyAll();
        }
      }
    } catch (WakeupException e) {
      // close() asked us to stop
    } catch (RuntimeException e) {
      LOG.error("Reader of {} stopped: {}", topic, e.toString(), e);
    }
  }

  private List<TopicPartition> awaitPartitions(KafkaConsumer<String, byte[]> c) {
    while (running) {
      try {
        List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(5));
        if (infos != null && !infos.isEmpty()) {
          return infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        }
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        LOG.debug("Topic {} not reachable yet: {}", topic, e.toString());
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        return null;
      }
    }
    return null;
  }

  @Override
  public void close() {
    running = false;
    KafkaConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    admin.close(Duration.ofSeconds(2));
  }
}
