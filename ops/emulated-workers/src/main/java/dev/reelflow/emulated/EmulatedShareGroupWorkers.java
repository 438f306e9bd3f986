package dev.reelflow.emulated;

import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * EMULATED workers fed by a Kafka share group (KIP-932) instead of the orchestrator's scheduler,
 * the alternative ARCHITECTURE.md, decision 3 measured: each worker is one {@link
 * KafkaShareConsumer} thread in the same share group, runs one task at a time (a sleep of the
 * emulated duration, no rendering) and acknowledges it ACCEPT. A share consumer acquires records in
 * batches; with {@code share.acquire.mode=record_limit} and {@code max.poll.records=1} it acquires
 * one at a time, otherwise the records of one poll wait behind each other on the worker that
 * acquired them (head-of-line blocking), which {@link #started()} records as the gap between
 * receipt and start.
 *
 * <p>Acknowledgement is explicit, so a record is released only when its worker says so or when its
 * acquisition lock expires. A worker that reaches a record whose lock has already expired (it
 * waited longer than {@link KafkaShareConsumer#acquisitionLockTimeoutMs()} behind its batch)
 * releases it instead of running it, as a careful worker would: the broker has handed it to someone
 * else.
 */
public final class EmulatedShareGroupWorkers implements AutoCloseable {

  /**
   * A task as a worker acquired and ran it.
   *
   * @param task the task
   * @param worker the worker's index
   * @param deliveryCount the broker's delivery count (above 1: redelivered)
   * @param pollSize records in the poll that brought it
   * @param receivedAt wall-clock time of that poll, epoch ms
   * @param startedAt wall-clock start, epoch ms; 0 when skipped (its lock had expired)
   */
  public record Started(
      RenderTask task,
      int worker,
      int deliveryCount,
      int pollSize,
      long receivedAt,
      long startedAt) {}

  private final AvroRecordDeserializer<RenderTask> reader;
  private final String topic;
  private final List<Thread> threads = new ArrayList<>();
  private final List<KafkaShareConsumer<byte[], byte[]>> consumers = new ArrayList<>();
  private volatile long taskMillis;
  private volatile boolean stop;
  private volatile Throwable failure;

  private final ConcurrentLinkedQueue<Started> started = new ConcurrentLinkedQueue<>();
  private final Map<String, AtomicInteger> completedById = new ConcurrentHashMap<>();
  private final AtomicLong firstStart = new AtomicLong();
  private final AtomicLong lastFinish = new AtomicLong();
  private final AtomicLong busyMillis = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong nonEmptyPolls = new AtomicLong();
  private final AtomicLong maxPollSize = new AtomicLong();
  private final AtomicLong expiredSkipped = new AtomicLong();
  private final AtomicLong ackFailures = new AtomicLong();

  private EmulatedShareGroupWorkers(Builder b) {
    this.topic = b.topic;
    this.taskMillis = b.taskMillis;
    this.reader =
        AvroRecordDeserializer.builder(RenderTask.class)
            .client(SchemaRegistryClient.create(b.registryUrl))
            .build();
    for (int i = 0; i < b.workers; i++) {
      KafkaShareConsumer<byte[], byte[]> c =
          new KafkaShareConsumer<>(
              properties(
                  b.bootstrapServers,
                  b.group,
                  b.maxPollRecords,
                  b.acquireMode,
                  "emulated-share-worker-" + i),
              new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
      c.setAcknowledgementCommitCallback(
          (offsets, e) -> {
            if (e != null) {
              ackFailures.addAndGet(offsets.values().stream().mapToLong(Set::size).sum());
            }
          });
      consumers.add(c);
      int index = i;
      Thread t = new Thread(() -> run(index, c), "emulated-share-worker-" + i);
      t.setDaemon(true);
      threads.add(t);
    }
    threads.forEach(Thread::start);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Consumer properties of one emulated share-group worker (also the holding worker's). */
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

  /**
   * Share groups start at the latest offset by default; a member that joins after the first records
   * must still see them, so benchmarks and tests set the group to start from the earliest.
   */
  public static void startFromEarliest(Admin admin, String group) throws Exception {
    ConfigResource r = new ConfigResource(ConfigResource.Type.GROUP, group);
    admin
        .incrementalAlterConfigs(
            Map.of(
                r,
                List.of(
                    new AlterConfigOp(
                        new ConfigEntry("share.auto.offset.reset", "earliest"),
                        AlterConfigOp.OpType.SET))))
        .all()
        .get();
  }

  /**
   * A BASE task (attempt 1, a preview render without upscale) as the orchestrator would dispatch
   * it; {@code createdAt} and {@code dispatchedAt} are now, the start of a dispatch latency.
   */
  public static RenderTask baseTask(String requestId, String tenant, int priority) {
    Instant now = Instant.now();
    String prefix = tenant + "/2026/11/25/" + requestId + "/";
    return RenderTask.newBuilder()
        .setTaskId(requestId + ":BASE:1")
        .setRequestId(requestId)
        .setTenant(tenant)
        .setStage(Stage.BASE)
        .setAttempt(1)
        .setParams(
            RenderParams.newBuilder()
                .setPrompt("emulated share-group task")
                .setResolution(Resolution.PREVIEW)
                .setFrames(17)
                .setSteps(4)
                .setSeed(7)
                .setUpscale(UpscaleTarget.NONE)
                .build())
        .setPriority(priority)
        .setInputs(new HashMap<>())
        .setOutputPrefix(prefix + "base/attempt-1/")
        .setFinalPrefix(prefix + "final/")
        .setPublishFinal(true)
        .setCreatedAt(now)
        .setDispatchedAt(now)
        .build();
  }

  /** Changes the emulated duration of the tasks started from now on. */
  public void taskMillis(long millis) {
    this.taskMillis = millis;
  }

  /** Starts a new measurement window: clears every counter and record below. */
  public void resetCounters() {
    firstStart.set(0);
    lastFinish.set(0);
    busyMillis.set(0);
    completed.set(0);
    nonEmptyPolls.set(0);
    maxPollSize.set(0);
    expiredSkipped.set(0);
    ackFailures.set(0);
    started.clear();
    completedById.clear();
  }

  /** Throws what broke a worker, if anything did. */
  public void check() {
    if (failure != null) {
      throw new IllegalStateException("emulated share-group workers failed: " + failure, failure);
    }
  }

  /** Every record acquired since the last reset (a live view). */
  public Collection<Started> started() {
    return Collections.unmodifiableCollection(started);
  }

  /** Runs per task id since the last reset (above 1: a duplicate run). */
  public Map<String, Integer> completedById() {
    Map<String, Integer> m = new HashMap<>();
    completedById.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  /** Distinct tasks completed since the last reset. */
  public int distinctCompleted() {
    return completedById.size();
  }

  /** Whether a task has completed since the last reset. */
  public boolean hasCompleted(String taskId) {
    return completedById.containsKey(taskId);
  }

  public long completed() {
    return completed.get();
  }

  public long firstStart() {
    return firstStart.get();
  }

  public long lastFinish() {
    return lastFinish.get();
  }

  public long busyMillis() {
    return busyMillis.get();
  }

  public long nonEmptyPolls() {
    return nonEmptyPolls.get();
  }

  public long maxPollSize() {
    return maxPollSize.get();
  }

  /** Records released unrun because their lock had expired before the worker reached them. */
  public long expiredSkipped() {
    return expiredSkipped.get();
  }

  /** Acknowledgements the broker refused. */
  public long ackFailures() {
    return ackFailures.get();
  }

  private void run(int worker, KafkaShareConsumer<byte[], byte[]> consumer) {
    consumer.subscribe(List.of(topic));
    try {
      while (!stop) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
        long receivedAt = System.currentTimeMillis();
        if (records.isEmpty()) {
          continue;
        }
        nonEmptyPolls.incrementAndGet();
        maxPollSize.accumulateAndGet(records.count(), Math::max);
        long lockMillis = consumer.acquisitionLockTimeoutMs().orElse(Integer.MAX_VALUE);
        for (ConsumerRecord<byte[], byte[]> r : records) {
          RenderTask t = reader.deserialize(r.topic(), r.value());
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
    } catch (RuntimeException e) {
      failure = e;
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

  /**
   * A worker JVM for the killed- and frozen-worker measurements: joins the share group, acquires
   * one record, prints {@code ACQUIRED <offset>} and holds it (an EMULATED task that never ends)
   * until its process is killed or frozen. Args: bootstrap servers, topic, group.
   */
  public static final class HoldingWorker {
    private HoldingWorker() {}

    public static void main(String[] args) throws Exception {
      try (KafkaShareConsumer<String, byte[]> c =
          new KafkaShareConsumer<>(
              properties(args[0], args[2], 1, "record_limit", "emulated-holding-worker"),
              new StringDeserializer(),
              new ByteArrayDeserializer())) {
        c.subscribe(List.of(args[1]));
        while (true) {
          for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(100))) {
            System.out.println("ACQUIRED " + r.offset());
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
          }
        }
      }
    }
  }

  /** Options of the workers; every one but {@code taskMillis} is required. */
  public static final class Builder {
    private String bootstrapServers;
    private String registryUrl;
    private String topic;
    private String group;
    private int workers = 1;
    private int maxPollRecords = 1;
    private String acquireMode = "record_limit";
    private long taskMillis = 50;

    private Builder() {}

    public Builder bootstrapServers(String v) {
      bootstrapServers = v;
      return this;
    }

    public Builder registryUrl(String v) {
      registryUrl = v;
      return this;
    }

    /** The topic the tasks are on (any name; the records carry the task topic's schema). */
    public Builder topic(String v) {
      topic = v;
      return this;
    }

    /** The share group. */
    public Builder group(String v) {
      group = v;
      return this;
    }

    public Builder workers(int v) {
      workers = v;
      return this;
    }

    /** {@code max.poll.records} (default 1). */
    public Builder maxPollRecords(int v) {
      maxPollRecords = v;
      return this;
    }

    /** {@code share.acquire.mode}: {@code record_limit} (default) or {@code batch_optimized}. */
    public Builder acquireMode(String v) {
      acquireMode = v;
      return this;
    }

    public Builder taskMillis(long v) {
      taskMillis = v;
      return this;
    }

    /** Starts the workers' consumers. */
    public EmulatedShareGroupWorkers build() {
      for (String[] kv :
          new String[][] {
            {"bootstrapServers", bootstrapServers},
            {"registryUrl", registryUrl},
            {"topic", topic},
            {"group", group}
          }) {
        if (kv[1] == null || kv[1].isBlank()) {
          throw new IllegalArgumentException(kv[0] + " is required");
        }
      }
      if (!acquireMode.equals("record_limit") && !acquireMode.equals("batch_optimized")) {
        throw new IllegalArgumentException(
            "acquireMode must be record_limit or batch_optimized, got " + acquireMode);
      }
      if (workers < 1 || maxPollRecords < 1 || taskMillis < 0) {
        throw new IllegalArgumentException(
            "workers and maxPollRecords must be >= 1 and taskMillis >= 0");
      }
      return new EmulatedShareGroupWorkers(this);
    }
  }
}
