package dev.reelflow.worker;

import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.CommandType;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every partition of render.commands from the end (assign, no group: every worker process
 * must see every cancel) and hands CANCEL commands to the workers of this process.
 */
final class CommandListener implements Runnable, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CommandListener.class);
  private static final Duration REFRESH = Duration.ofSeconds(10);

  private final KafkaConsumer<String, byte[]> consumer;
  private final AvroRecordDeserializer<RenderCommand> reader;
  private final BiConsumer<String, String> onCancel;
  private final Thread thread;
  private volatile boolean closed;
  private long lastRefresh;

  CommandListener(
      Map<String, Object> consumerProps,
      AvroRecordDeserializer<RenderCommand> reader,
      BiConsumer<String, String> onCancel) {
    this.consumer = new KafkaConsumer<>(consumerProps);
    this.reader = reader;
    this.onCancel = onCancel;
    assignAll();
    this.thread = new Thread(this, "render-commands");
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Assigns all partitions (new ones too) and positions new ones at the end. */
  private void assignAll() {
    lastRefresh = System.nanoTime();
    List<PartitionInfo> infos = consumer.partitionsFor(Topics.COMMANDS, Duration.ofSeconds(10));
    if (infos == null || infos.isEmpty()) {
      LOG.warn(
          "topic {} has no partitions yet; cancellation starts once it exists", Topics.COMMANDS);
      return;
    }
    List<TopicPartition> all = new ArrayList<>();
    for (PartitionInfo i : infos) {
      all.add(new TopicPartition(i.topic(), i.partition()));
    }
    if (consumer.assignment().containsAll(all)) {
      return;
    }
    List<TopicPartition> added = new ArrayList<>(all);
    added.removeAll(consumer.assignment());
    consumer.assign(all);
    consumer.seekToEnd(added);
    // seekToEnd is lazy: resolve positions now, so a cancel sent after start is never skipped.
    for (TopicPartition tp : added) {
      consumer.position(tp, Duration.ofSeconds(10));
    }
  }

  @Override
  public void run() {
    try {
      while (!closed) {
        if (System.nanoTime() - lastRefresh > REFRESH.toNanos()) {
          assignAll();
        }
        if (consumer.assignment().isEmpty()) {
          Thread.sleep(200);
          continue;
        }
        for (ConsumerRecord<String, byte[]> rec : consumer.poll(Duration.ofMillis(200))) {
          handle(rec);
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.error("command listener stopped: cancellation no longer reaches this process", e);
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  private void handle(ConsumerRecord<String, byte[]> rec) {
    RenderCommand cmd;
    try {
      cmd = reader.deserialize(rec.topic(), rec.value());
    } catch (RuntimeException e) {
      LOG.warn(
          "unreadable command at {}-{}@{} ignored (the orchestrator dead-letters it): {}",
          rec.topic(),
          rec.partition(),
          rec.offset(),
          e.toString());
      return;
    }
    if (cmd != null && cmd.getType() == CommandType.CANCEL) {
      LOG.info("cancel command {} for render {}", cmd.getCommandId(), cmd.getRequestId());
      onCancel.accept(
          cmd.getRequestId(),
          cmd.getReason() == null ? "cancelled by command " + cmd.getCommandId() : cmd.getReason());
    }
  }

  @Override
  public void close() {
    closed = true;
    if (!thread.isAlive()) {
      consumer.close(Duration.ofSeconds(5));
      return;
    }
    consumer.wakeup();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
