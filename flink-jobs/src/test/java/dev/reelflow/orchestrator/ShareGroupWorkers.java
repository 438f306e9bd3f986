package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderTask;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * EMULATED workers served by a Kafka share group (KIP-932) instead of the orchestrator's
 * DispatchScheduler: each worker is one {@link KafkaShareConsumer} thread in the same share group,
 * runs one task at a time (a sleep of the emulated duration, no rendering) and acknowledges it
 * ACCEPT. A share consumer acquires records in batches; with {@code
 * share.acquire.mode=record_limit} and {@code max.poll.records=1} it acquires one at a time,
 * otherwise the records of one poll wait behind each other on the worker that acquired them
 * (head-of-line blocking), which {@link #started} records as the gap between receipt and start.
 *
 * <p>Acknowledgement is explicit, so a record is released only when its worker says so or when its
 * acquisition lock expires. A worker that reaches a record whose lock has already expired (it
 * waited longer than {@link KafkaShareConsumer#acquisitionLockTimeoutMs()} behind its batch)
 * releases it instead of running it, as a careful worker would: the broker has handed it to someone
 * else.
 */
final class ShareGroupWorkers implements AutoCloseable {
  /** A task as a worker acquired and ran it; {@code startedAt} is 0 when it was skipped. */
  record Started(
      RenderTask task,
      int worker,
      int deliveryCount,
      int pollSize,
      long receivedAt,
      long startedAt) {}

  private final RecordCodec codec;
  private final String topic;
  private final List<Thread> threads = new ArrayList<>();
  private final List<KafkaShareConsumer<byte[], byte[]>> consumers = new ArrayList<>();
  private volatile long taskMillis;
  private volatile boolean stop;

  final ConcurrentLinkedQueue<Started> started = new ConcurrentLinkedQueue<>();
  final Map<String, AtomicInteger> completedById = new ConcurrentHashMap<>();
  final AtomicLong firstStart = new AtomicLong();
  final AtomicLong lastFinish = new AtomicLong();
  final AtomicLong busyMillis = new AtomicLong();
  final AtomicLong completed = new AtomicLong();
  final AtomicLong polls = new AtomicLong();
  final AtomicLong nonEmptyPolls = new AtomicLong();
  final AtomicLong maxPollSize = new AtomicLong();
  final AtomicLong expiredSkipped = new AtomicLong();
  final AtomicLong ackFailures = new AtomicLong();

  /**
   * Starts {@code workers} share consumers in {@code group} on {@code topic}.
   *
   * @param maxPollRecords {@code max.poll.records}
   * @param acquireMode {@code share.acquire.mode}: {@code record_limit} or {@code batch_optimized}
   */
  ShareGroupWorkers(
      String bootstrap,
      RecordCodec codec,
      String topic,
      String group,
      int workers,
      int maxPollRecords,
      String acquireMode,
      long taskMillis)
      throws Exception {
    this.codec = codec;
    this.topic = topic;
    this.taskMillis = taskMillis;
    codec.open();
    for (int i = 0; i < workers; i++) {
      KafkaShareConsumer<byte[], byte[]> c =
          new KafkaShareConsumer<>(
              properties(bootstrap, group, maxPollRecords, acquireMode, "share-worker-" + i),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      c.setAcknowledgementCommitCallback(
          (offsets, e) -> {
            if (e != null) {
              ackFailures.addAndGet(offsets.values().stream().mapToLong(java.util.Set::size).sum());
            }
          });
      consumers.add(c);
      int index = i;
      Thread t = new Thread(() -> run(index, c), "share-worker-" + i);
      t.setDaemon(true);
      threads.add(t);
    }
    threads.forEach(Thread::start);
  }

  /** Consumer properties of one emulated share-group worker (also used by the killed worker). */
  static Properties properties(
      String bootstrap, String group, int maxPollRecords, String acquireMode, String clientId) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("client.id", clientId);
    p.put("share.acknowledgement.mode", "explicit");
    p.put("max.poll.records", String.valueOf(maxPollRecords));
    p.put("share.acquire.mode", acquireMode);
    return p;
  }

  /** Changes the emulated duration of the tasks started from now on. */
  void taskMillis(long millis) {
    this.taskMillis = millis;
  }

  /** Starts a new measurement window. */
  void resetCounters() {
    firstStart.set(0);
    lastFinish.set(0);
    busyMillis.set(0);
    completed.set(0);
    polls.set(0);
    nonEmptyPolls.set(0);
    maxPollSize.set(0);
    expiredSkipped.set(0);
    ackFailures.set(0);
    started.clear();
    completedById.clear();
  }

  private void run(int worker, KafkaShareConsumer<byte[], byte[]> consumer) {
    consumer.subscribe(List.of(topic));
    try {
      while (!stop) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
        long receivedAt = System.currentTimeMillis();
        polls.incrementAndGet();
        if (records.isEmpty()) {
          continue;
        }
        nonEmptyPolls.incrementAndGet();
        maxPollSize.accumulateAndGet(records.count(), Math::max);
        long lockMillis = consumer.acquisitionLockTimeoutMs().orElse(Integer.MAX_VALUE);
        for (ConsumerRecord<byte[], byte[]> r : records) {
          // Tasks carry the task topic's schema, whichever topic a benchmark puts them on.
          RenderTask t = (RenderTask) codec.decode(TopicNames.TASKS_BASE, r.value());
          int deliveries = r.deliveryCount().orElse((short) 1);
          long now = System.currentTimeMillis();
          if (stop || now - receivedAt >= lockMillis) {
            // The lock is gone (or we are closing): the broker has made the record available
            // again, so running it here would only duplicate work.
            expiredSkipped.incrementAndGet();
            started.add(new Started(t, worker, deliveries, records.count(), receivedAt, 0));
            consumer.acknowledge(r, AcknowledgeType.RELEASE);
            continue;
          }
          started.add(new Started(t, worker, deliveries, records.count(), receivedAt, now));
          firstStart.compareAndSet(0, now);
          long millis = taskMillis;
          Thread.sleep(millis); // EMULATED task: no rendering, only its duration
          busyMillis.addAndGet(millis);
          consumer.acknowledge(r, AcknowledgeType.ACCEPT);
          completedById.computeIfAbsent(t.getTaskId(), k -> new AtomicInteger()).incrementAndGet();
          completed.incrementAndGet();
          lastFinish.set(System.currentTimeMillis());
        }
        // Acknowledgements would otherwise ride on the next ShareFetch; send them now so the
        // broker's view (and a test's) is current even if this worker then sits in poll.
        consumer.commitAsync();
      }
    } catch (InterruptedException | InterruptException | WakeupException e) {
      // close() woke us up; the thread ends here, so the interrupt flag is left clear for the
      // consumer's own close, which waits for its network thread.
    } catch (Exception e) {
      throw new IllegalStateException("Emulated share-group worker " + worker + " failed", e);
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    consumers.forEach(KafkaShareConsumer::wakeup);
    for (Thread t : threads) {
      t.join(10_000);
    }
  }
}
