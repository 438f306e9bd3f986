package dev.reelflow.bench;

import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * EMULATED base workers: no rendering, only the worker protocol. Worker {@code i} owns partition
 * {@code i} of the base task topic, announces READY, and for each task sends STARTED, waits the
 * emulated task duration (a timer, not a sleep per worker: one thread drives them all), sends
 * COMPLETED with placeholder output keys and READY again. One slot each, or two with prefetch.
 */
final class EmulatedWorkers implements AutoCloseable {

  /** A task as a worker received it: wall-clock arrival time. */
  record Received(String requestId, int attempt, int partition, long at) {}

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

  private final KafkaProducer<String, SpecificRecord> producer;
  private final KafkaConsumer<String, RenderTask> consumer;
  private final Map<Integer, String> workerOf = new HashMap<>();
  private final Map<String, Integer> partitionOf = new HashMap<>();
  private final Map<String, RenderTask> current = new HashMap<>();
  private final Map<String, ArrayDeque<RenderTask>> prefetched = new HashMap<>();
  private final Map<String, Long> readySentAt = new HashMap<>();
  private final DelayQueue<Finish> running = new DelayQueue<>();
  private final Set<String> dead = ConcurrentHashMap.newKeySet();
  private final int slots;
  private final Thread loop;
  private volatile long taskMillis;
  private volatile boolean stop;
  private volatile boolean release;
  private volatile boolean paused;
  private volatile Throwable failure;

  final AtomicLong firstStart = new AtomicLong();
  final AtomicLong lastFinish = new AtomicLong();
  final AtomicLong busyMillis = new AtomicLong();
  final AtomicLong completed = new AtomicLong();
  final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();

  /** Wall-clock start of each task by requestId. */
  final Map<String, Long> startedAt = new ConcurrentHashMap<>();

  /** Per dispatch under load: a worker's READY sent until its next task arrived, in ms. */
  final ConcurrentLinkedQueue<Long> turnarounds = new ConcurrentLinkedQueue<>();

  EmulatedWorkers(
      String bootstrap, String registryUrl, int workers, boolean prefetch, long taskMillis) {
    this.slots = prefetch ? 2 : 1;
    this.taskMillis = taskMillis;
    SchemaRegistryClient registry = SchemaRegistryClient.create(registryUrl);
    producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", bootstrap, "linger.ms", "0"),
            new StringSerializer(),
            AvroRecordSerializer.<SpecificRecord>builder().client(registry).build());
    consumer =
        new KafkaConsumer<>(
            Map.of(
                "bootstrap.servers", bootstrap,
                "isolation.level", "read_committed",
                "auto.offset.reset", "earliest",
                "enable.auto.commit", "false",
                "fetch.max.wait.ms", "10"),
            new StringDeserializer(),
            AvroRecordDeserializer.builder(RenderTask.class).client(registry).build());
    List<TopicPartition> parts = new ArrayList<>();
    for (int p = 0; p < workers; p++) {
      parts.add(new TopicPartition(Topics.TASKS_BASE, p));
      String id = "emulated-base-" + p;
      workerOf.put(p, id);
      partitionOf.put(id, p);
      prefetched.put(id, new ArrayDeque<>());
    }
    consumer.assign(parts);
    consumer.seekToEnd(parts);
    parts.forEach(consumer::position);
    workerOf.forEach((p, w) -> ready(w, p));
    producer.flush();
    loop = new Thread(this::run, "emulated-workers");
    loop.setDaemon(true);
    loop.start();
  }

  /** Changes the emulated duration of tasks started from now on. */
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
    turnarounds.clear();
  }

  String workerOf(int partition) {
    return workerOf.get(partition);
  }

  /**
   * Pauses the workers: a task that arrives is held without starting (so each worker takes at most
   * its slots and the orchestrator keeps the rest queued) until {@link #resume}.
   */
  void pause() {
    paused = true;
  }

  /** Starts the held tasks and takes new ones again. */
  void resume() {
    paused = false;
    release = true;
  }

  /** Kills a worker as a crash would: its task never completes, it sends nothing more. */
  void kill(String worker) {
    dead.add(worker);
  }

  /** Throws what broke the workers' loop, if anything did. */
  void check() {
    if (failure != null) {
      throw new IllegalStateException("emulated workers failed: " + failure, failure);
    }
  }

  private void run() {
    try {
      while (!stop) {
        for (ConsumerRecord<String, RenderTask> r : consumer.poll(Duration.ofMillis(5))) {
          long now = System.currentTimeMillis();
          RenderTask t = r.value();
          received.add(new Received(t.getRequestId(), t.getAttempt(), r.partition(), now));
          String worker = workerOf.get(r.partition());
          if (worker == null || dead.contains(worker)) {
            continue;
          }
          Long readyAt = readySentAt.remove(worker);
          if (readyAt != null) {
            turnarounds.add(now - readyAt);
          }
          if (current.get(worker) == null && !paused) {
            start(worker, t);
          } else {
            prefetched.get(worker).add(t);
          }
        }
        if (release) {
          release = false;
          for (Map.Entry<String, ArrayDeque<RenderTask>> w : prefetched.entrySet()) {
            if (current.get(w.getKey()) == null && !w.getValue().isEmpty()) {
              start(w.getKey(), w.getValue().poll());
            }
          }
        }
        Finish f;
        while ((f = running.poll()) != null) {
          if (dead.contains(f.worker())) {
            continue;
          }
          StageEvent done = event(f.task(), f.worker(), StageEventType.COMPLETED);
          done.setOutputs(outputs(f.task()));
          send(done);
          lastFinish.set(System.currentTimeMillis());
          completed.incrementAndGet();
          current.remove(f.worker());
          RenderTask next = paused ? null : prefetched.get(f.worker()).poll();
          if (next != null) {
            start(f.worker(), next);
          }
          ready(f.worker(), partitionOf.get(f.worker()));
          readySentAt.put(f.worker(), System.currentTimeMillis());
        }
      }
    } catch (RuntimeException e) {
      failure = e;
    }
  }

  private void start(String worker, RenderTask t) {
    current.put(worker, t);
    send(event(t, worker, StageEventType.STARTED));
    long now = System.currentTimeMillis();
    startedAt.put(t.getRequestId(), now);
    firstStart.compareAndSet(0, now);
    busyMillis.addAndGet(taskMillis);
    running.add(new Finish(t, worker, now + taskMillis));
  }

  private void ready(String worker, int partition) {
    List<String> held = new ArrayList<>();
    if (current.get(worker) != null) {
      held.add(current.get(worker).getTaskId());
    }
    prefetched.get(worker).forEach(t -> held.add(t.getTaskId()));
    WorkerEvent e =
        WorkerEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setWorkerId(worker)
            .setPool(Stage.BASE)
            .setType(WorkerEventType.READY)
            .setFreeSlots(slots - held.size())
            .setTotalSlots(slots)
            .setOwnedPartitions(new ArrayList<>(List.of(partition)))
            .setRunningTaskIds(held)
            .setEngine("emulated")
            .setAt(Instant.now())
            .build();
    producer.send(new ProducerRecord<>(Topics.WORKER_EVENTS, worker, e));
  }

  private void send(StageEvent e) {
    producer.send(new ProducerRecord<>(Topics.STAGE_EVENTS, e.getRequestId(), e));
  }

  private static StageEvent event(RenderTask t, String worker, StageEventType type) {
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

  private static List<OutputArtifact> outputs(RenderTask t) {
    List<OutputArtifact> out = new ArrayList<>();
    out.add(artifact("latents", t.getOutputPrefix() + "latents.safetensors"));
    out.add(artifact("preview", t.getOutputPrefix() + "preview.mp4"));
    out.add(artifact("manifest", t.getOutputPrefix() + "manifest.json"));
    if (t.getPublishFinal()) {
      out.add(artifact("video", t.getFinalPrefix() + "video.mp4"));
      out.add(artifact("poster", t.getFinalPrefix() + "poster.jpg"));
    }
    return out;
  }

  private static OutputArtifact artifact(String name, String key) {
    // EMULATED outputs: keys only, nothing is uploaded.
    return OutputArtifact.newBuilder()
        .setName(name)
        .setKey(key)
        .setSizeBytes(1234)
        .setSha256("ab".repeat(32))
        .setContentType("application/octet-stream")
        .build();
  }

  @Override
  public void close() throws InterruptedException {
    stop = true;
    loop.join(5_000);
    consumer.close();
    producer.close();
  }
}
