package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * EMULATED workers for tests and benchmarks: no rendering, only the protocol. Each emulated worker
 * owns one task-topic partition of its pool, announces READY with one free slot, and for every task
 * it receives sends STARTED, sleeps the fixed task duration (sleep-based emulation) and sends
 * COMPLETED with deterministic output keys, then READY again.
 */
final class EmulatedWorkers implements AutoCloseable {
  private final RecordCodec codec;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<Integer, String> workerOfPartition = new HashMap<>();
  private final Map<String, Integer> partitionOf = new HashMap<>();
  private final Stage pool;
  private volatile long taskMillis;
  final java.util.concurrent.atomic.AtomicLong firstStart =
      new java.util.concurrent.atomic.AtomicLong();
  final java.util.concurrent.atomic.AtomicLong lastFinish =
      new java.util.concurrent.atomic.AtomicLong();
  final java.util.concurrent.atomic.AtomicLong busyMillis =
      new java.util.concurrent.atomic.AtomicLong();
  final java.util.concurrent.atomic.AtomicLong completed =
      new java.util.concurrent.atomic.AtomicLong();
  private final int slots;
  private final Thread loop;
  private final DelayQueue<Finish> running = new DelayQueue<>();
  private final Map<String, RenderTask> current = new HashMap<>();
  private final Map<String, java.util.ArrayDeque<RenderTask>> prefetched = new HashMap<>();
  final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();

  /** Wall-clock start of each task by requestId (fairness and priority waits). */
  final Map<String, Long> startedAt = new java.util.concurrent.ConcurrentHashMap<>();

  /** Wall-clock time each render's last COMPLETED was sent, by requestId. */
  final Map<String, Long> finishedAt = new java.util.concurrent.ConcurrentHashMap<>();

  private final Set<String> dead = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean stop;
  private volatile Consumer<RenderTask> onTask = t -> {};

  /** A task as a worker got it, with the wall-clock time it arrived. */
  record Received(RenderTask task, int partition, long at) {}

  private record Finish(RenderTask task, String worker, long at) implements Delayed {
    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(at - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      return Long.compare(at, ((Finish) o).at);
    }
  }

  EmulatedWorkers(
      String bootstrap, RecordCodec codec, Stage pool, int workers, int slots, long taskMillis)
      throws Exception {
    this.codec = codec;
    this.pool = pool;
    this.taskMillis = taskMillis;
    this.slots = slots;
    codec.open();
    Properties pp = new Properties();
    pp.put("bootstrap.servers", bootstrap);
    pp.put("linger.ms", "0");
    producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
    Properties cp = new Properties();
    cp.put("bootstrap.servers", bootstrap);
    cp.put("isolation.level", "read_committed");
    cp.put("auto.offset.reset", "earliest");
    cp.put("enable.auto.commit", "false");
    cp.put("fetch.max.wait.ms", "10");
    consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    String topic = pool == Stage.BASE ? TopicNames.TASKS_BASE : TopicNames.TASKS_UPSCALE;
    List<TopicPartition> parts = new ArrayList<>();
    for (int p = 0; p < workers; p++) {
      parts.add(new TopicPartition(topic, p));
      workerOfPartition.put(p, "emulated-" + pool.name().toLowerCase() + "-" + p);
      partitionOf.put("emulated-" + pool.name().toLowerCase() + "-" + p, p);
    }
    consumer.assign(parts);
    consumer.seekToEnd(parts);
    for (TopicPartition p : parts) {
      consumer.position(p);
    }
    for (Map.Entry<Integer, String> w : workerOfPartition.entrySet()) {
      prefetched.put(w.getValue(), new java.util.ArrayDeque<>());
      ready(w.getValue(), w.getKey());
    }
    producer.flush();
    loop = new Thread(this::run, "emulated-workers-" + pool);
    loop.setDaemon(true);
    loop.start();
  }

  /** Changes the emulated duration of the tasks received from now on. */
  void taskMillis(long millis) {
    this.taskMillis = millis;
  }

  /** Starts a new measurement window. */
  void resetCounters() {
    firstStart.set(0);
    lastFinish.set(0);
    busyMillis.set(0);
    completed.set(0);
    received.clear();
    startedAt.clear();
    finishedAt.clear();
  }

  /** The emulated worker that owns a task-topic partition. */
  String workerOf(int partition) {
    return workerOfPartition.get(partition);
  }

  /**
   * Kills an emulated worker as a crash would: its running task never completes, it sends nothing
   * more (no READY, no heartbeat) and ignores tasks still sent to its partition.
   */
  void kill(String worker) {
    dead.add(worker);
  }

  void onTask(Consumer<RenderTask> hook) {
    this.onTask = hook;
  }

  private void run() {
    while (!stop) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(5))) {
        try {
          RenderTask t = (RenderTask) codec.decode(r.topic(), r.value());
          received.add(new Received(t, r.partition(), System.currentTimeMillis()));
          onTask.accept(t);
          String worker = workerOfPartition.get(r.partition());
          if (dead.contains(worker)) {
            continue;
          }
          if (current.get(worker) == null) {
            start(worker, t);
          } else {
            prefetched.get(worker).add(t);
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
      Finish f;
      while ((f = running.poll()) != null) {
        if (dead.contains(f.worker)) {
          continue;
        }
        try {
          StageEvent done = event(f.task, f.worker, StageEventType.COMPLETED);
          done.setOutputs(outputs(f.task));
          send(done);
          lastFinish.set(System.currentTimeMillis());
          finishedAt.put(f.task.getRequestId(), lastFinish.get());
          completed.incrementAndGet();
          current.remove(f.worker);
          RenderTask next = prefetched.get(f.worker).poll();
          if (next != null) {
            start(f.worker, next);
          }
          ready(f.worker, partitionOf.get(f.worker));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    }
  }

  private void start(String worker, RenderTask t) throws Exception {
    current.put(worker, t);
    send(event(t, worker, StageEventType.STARTED));
    long now = System.currentTimeMillis();
    startedAt.put(t.getRequestId(), now);
    firstStart.compareAndSet(0, now);
    busyMillis.addAndGet(taskMillis);
    running.add(new Finish(t, worker, now + taskMillis));
  }

  private void ready(String worker, int partition) throws Exception {
    List<String> held = new ArrayList<>();
    if (current.get(worker) != null) {
      held.add(current.get(worker).getTaskId());
    }
    prefetched.get(worker).forEach(t -> held.add(t.getTaskId()));
    WorkerEvent e =
        WorkerEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setWorkerId(worker)
            .setPool(pool)
            .setType(WorkerEventType.READY)
            .setFreeSlots(slots - held.size())
            .setTotalSlots(slots)
            .setOwnedPartitions(new ArrayList<>(List.of(partition)))
            .setRunningTaskIds(held)
            .setEngine("emulated")
            .setAt(Instant.now())
            .build();
    producer.send(
        new ProducerRecord<>(
            TopicNames.WORKER_EVENTS,
            worker.getBytes(StandardCharsets.UTF_8),
            codec.encode(TopicNames.WORKER_EVENTS, e)));
  }

  private void send(StageEvent e) throws Exception {
    producer.send(
        new ProducerRecord<>(
            TopicNames.STAGE_EVENTS,
            e.getRequestId().getBytes(StandardCharsets.UTF_8),
            codec.encode(TopicNames.STAGE_EVENTS, e)));
  }

  static StageEvent event(RenderTask t, String worker, StageEventType type) {
    return StageEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setTaskId(t.getTaskId())
        .setRequestId(t.getRequestId())
        .setTenant(t.getTenant())
        .setStage(t.getStage())
        .setAttempt(t.getAttempt())
        .setWorkerId(worker)
        .setType(type)
        .setAt(Instant.now())
        .setOutputs(new ArrayList<>())
        .setFacts(new HashMap<>(Map.of("engine", "emulated")))
        .build();
  }

  static List<OutputArtifact> outputs(RenderTask t) {
    List<OutputArtifact> out = new ArrayList<>();
    if (t.getStage() == Stage.BASE) {
      out.add(Fixtures.artifact("latents", t.getOutputPrefix() + "latents.safetensors"));
      out.add(Fixtures.artifact("preview", t.getOutputPrefix() + "preview.mp4"));
      out.add(Fixtures.artifact("manifest", t.getOutputPrefix() + "manifest.json"));
    }
    if (t.getPublishFinal()) {
      out.add(Fixtures.artifact("video", t.getFinalPrefix() + "video.mp4"));
      out.add(Fixtures.artifact("poster", t.getFinalPrefix() + "poster.jpg"));
      if (t.getStage() == Stage.UPSCALE) {
        out.add(Fixtures.artifact("manifest", t.getFinalPrefix() + "manifest.json"));
      }
    }
    return out;
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    loop.join(5_000);
    consumer.close();
    producer.close();
  }
}
