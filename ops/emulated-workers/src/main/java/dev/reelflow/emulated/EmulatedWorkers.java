package dev.reelflow.emulated;

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
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * EMULATED workers of one pool: no rendering, only the worker protocol (ARCHITECTURE.md, "The
 * dispatch protocol"), for the orchestrator's tests and {@code reelflow bench}. Worker {@code i}
 * (id {@code emulated-<pool>-<i>}) owns partition {@code i} of the pool's task topic, announces
 * READY, and for each task sends STARTED, waits the emulated task duration, sends COMPLETED with
 * placeholder output keys (nothing is uploaded) and READY again. A worker runs one task at a time;
 * with more than one slot it announces them all and holds the extra tasks until it is free
 * (prefetch). One thread drives every worker with a timer, so hundreds of workers cost one thread.
 *
 * <p>Build with {@link #builder()}; the workers start on {@link Builder#build()} and announce
 * STOPPED on {@link #close()} (the killed ones excepted: a crash says nothing).
 */
public final class EmulatedWorkers implements AutoCloseable {

  /**
   * A task as a worker received it.
   *
   * @param task the task
   * @param partition the task-topic partition it came on (the worker's)
   * @param at wall-clock arrival time, epoch ms
   */
  public record Received(RenderTask task, int partition, long at) {
    public String requestId() {
      return task.getRequestId();
    }

    public int attempt() {
      return task.getAttempt();
    }
  }

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

  private final Stage pool;
  private final int slots;
  private final KafkaProducer<String, SpecificRecord> producer;
  private final KafkaConsumer<String, RenderTask> consumer;
  private final Map<Integer, String> workerOf = new HashMap<>();
  private final Map<String, Integer> partitionOf = new HashMap<>();
  private final Map<String, RenderTask> current = new HashMap<>();
  private final Map<String, ArrayDeque<RenderTask>> prefetched = new HashMap<>();
  private final Map<String, Long> readySentAt = new HashMap<>();
  private final DelayQueue<Finish> running = new DelayQueue<>();
  private final Set<String> dead = ConcurrentHashMap.newKeySet();
  private final Thread loop;
  private volatile long taskMillis;
  private volatile boolean stop;
  private volatile boolean release;
  private volatile boolean paused;
  private volatile Throwable failure;
  private volatile Consumer<RenderTask> onTask = t -> {};

  private final AtomicLong firstStart = new AtomicLong();
  private final AtomicLong lastFinish = new AtomicLong();
  private final AtomicLong busyMillis = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
  private final Map<String, Long> startedAt = new ConcurrentHashMap<>();
  private final Map<String, Long> finishedAt = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Long> turnarounds = new ConcurrentLinkedQueue<>();

  private EmulatedWorkers(Builder b) {
    this.pool = b.pool;
    this.slots = b.slots;
    this.taskMillis = b.taskMillis;
    SchemaRegistryClient registry = SchemaRegistryClient.create(b.registryUrl);
    producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", b.bootstrapServers, "linger.ms", "0"),
            new StringSerializer(),
            AvroRecordSerializer.<SpecificRecord>builder().client(registry).build());
    consumer =
        new KafkaConsumer<>(
            Map.of(
                "bootstrap.servers", b.bootstrapServers,
                "isolation.level", "read_committed",
                "auto.offset.reset", "earliest",
                "enable.auto.commit", "false",
                "fetch.max.wait.ms", "10"),
            new StringDeserializer(),
            AvroRecordDeserializer.builder(RenderTask.class).client(registry).build());
    String topic = pool == Stage.BASE ? Topics.TASKS_BASE : Topics.TASKS_UPSCALE;
    List<TopicPartition> parts = new ArrayList<>();
    for (int p = 0; p < b.workers; p++) {
      parts.add(new TopicPartition(topic, p));
      String id = "emulated-" + pool.name().toLowerCase(Locale.ROOT) + "-" + p;
      workerOf.put(p, id);
      partitionOf.put(id, p);
      prefetched.put(id, new ArrayDeque<>());
    }
    consumer.assign(parts);
    consumer.seekToEnd(parts);
    parts.forEach(consumer::position);
    workerOf.forEach((p, w) -> ready(w, p));
    producer.flush();
    loop = new Thread(this::run, "emulated-workers-" + pool.name().toLowerCase(Locale.ROOT));
    loop.setDaemon(true);
    loop.start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Changes the emulated duration of tasks started from now on. */
  public void taskMillis(long millis) {
    if (millis < 0) {
      throw new IllegalArgumentException("taskMillis must be >= 0, got " + millis);
    }
    this.taskMillis = millis;
  }

  /** Starts a new measurement window: clears every counter and record below. */
  public void resetCounters() {
    firstStart.set(0);
    lastFinish.set(0);
    busyMillis.set(0);
    completed.set(0);
    received.clear();
    startedAt.clear();
    finishedAt.clear();
    turnarounds.clear();
  }

  /** The emulated worker that owns a task-topic partition. */
  public String workerOf(int partition) {
    return workerOf.get(partition);
  }

  /**
   * Pauses the workers: a task that arrives is held without starting (so each worker takes at most
   * its slots and the orchestrator keeps the rest queued) until {@link #resume}.
   */
  public void pause() {
    paused = true;
  }

  /** Starts the held tasks and takes new ones again. */
  public void resume() {
    paused = false;
    release = true;
  }

  /**
   * Kills a worker as a crash would: its running task never completes, it sends nothing more (no
   * READY, no heartbeat, no STOPPED) and ignores tasks still sent to its partition.
   */
  public void kill(String worker) {
    dead.add(worker);
  }

  /** Called with every task a worker receives, on the workers' thread (keep it short). */
  public void onTask(Consumer<RenderTask> hook) {
    this.onTask = Objects.requireNonNull(hook, "hook");
  }

  /** Throws what broke the workers' loop, if anything did. */
  public void check() {
    if (failure != null) {
      throw new IllegalStateException("emulated workers failed: " + failure, failure);
    }
  }

  /** Tasks completed since the last {@link #resetCounters()}. */
  public long completed() {
    return completed.get();
  }

  /** Wall-clock time of the first task start since the last reset, epoch ms; 0 if none. */
  public long firstStart() {
    return firstStart.get();
  }

  /** Wall-clock time of the last COMPLETED since the last reset, epoch ms; 0 if none. */
  public long lastFinish() {
    return lastFinish.get();
  }

  /** Emulated work started since the last reset, ms. */
  public long busyMillis() {
    return busyMillis.get();
  }

  /** Every task received since the last reset, in arrival order (a live view). */
  public Collection<Received> received() {
    return Collections.unmodifiableCollection(received);
  }

  /** Wall-clock start of each task by request id, epoch ms (a live view). */
  public Map<String, Long> startedAt() {
    return Collections.unmodifiableMap(startedAt);
  }

  /** Wall-clock time each render's last COMPLETED was sent, by request id (a live view). */
  public Map<String, Long> finishedAt() {
    return Collections.unmodifiableMap(finishedAt);
  }

  /** Per dispatch: a worker's READY sent after a task until its next task arrived, ms. */
  public Collection<Long> turnarounds() {
    return Collections.unmodifiableCollection(turnarounds);
  }

  private void run() {
    try {
      while (!stop) {
        for (ConsumerRecord<String, RenderTask> r : consumer.poll(Duration.ofMillis(5))) {
          long now = System.currentTimeMillis();
          RenderTask t = r.value();
          received.add(new Received(t, r.partition(), now));
          onTask.accept(t);
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
          long now = System.currentTimeMillis();
          lastFinish.set(now);
          finishedAt.put(f.task().getRequestId(), now);
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
    long millis = taskMillis;
    busyMillis.addAndGet(millis);
    running.add(new Finish(t, worker, now + millis));
  }

  private void ready(String worker, int partition) {
    List<String> held = new ArrayList<>();
    if (current.get(worker) != null) {
      held.add(current.get(worker).getTaskId());
    }
    prefetched.get(worker).forEach(t -> held.add(t.getTaskId()));
    sendWorker(worker, WorkerEventType.READY, slots - held.size(), List.of(partition), held);
  }

  private void sendWorker(
      String worker, WorkerEventType type, int free, List<Integer> partitions, List<String> held) {
    WorkerEvent e =
        WorkerEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setWorkerId(worker)
            .setPool(pool)
            .setType(type)
            .setFreeSlots(free)
            .setTotalSlots(slots)
            .setOwnedPartitions(new ArrayList<>(partitions))
            .setRunningTaskIds(new ArrayList<>(held))
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

  /** The output keys a real stage would publish; EMULATED: keys only, nothing is uploaded. */
  private static List<OutputArtifact> outputs(RenderTask t) {
    List<OutputArtifact> out = new ArrayList<>();
    if (t.getStage() == Stage.BASE) {
      out.add(artifact("latents", t.getOutputPrefix() + "latents.safetensors"));
      out.add(artifact("preview", t.getOutputPrefix() + "preview.mp4"));
      out.add(artifact("manifest", t.getOutputPrefix() + "manifest.json"));
    }
    if (t.getPublishFinal()) {
      out.add(artifact("video", t.getFinalPrefix() + "video.mp4"));
      out.add(artifact("poster", t.getFinalPrefix() + "poster.jpg"));
      if (t.getStage() == Stage.UPSCALE) {
        out.add(artifact("manifest", t.getFinalPrefix() + "manifest.json"));
      }
    }
    return out;
  }

  private static OutputArtifact artifact(String name, String key) {
    return OutputArtifact.newBuilder()
        .setName(name)
        .setKey(key)
        .setSizeBytes(1234)
        .setSha256("ab".repeat(32))
        .setContentType("application/octet-stream")
        .build();
  }

  /** Stops the loop, then announces STOPPED for every worker not killed. */
  @Override
  public void close() throws InterruptedException {
    stop = true;
    loop.join(5_000);
    try {
      for (Map.Entry<Integer, String> w : workerOf.entrySet()) {
        if (!dead.contains(w.getValue())) {
          sendWorker(w.getValue(), WorkerEventType.STOPPED, 0, List.of(), List.of());
        }
      }
      producer.flush();
    } finally {
      consumer.close();
      producer.close();
    }
  }

  /** Options of a pool of emulated workers; {@code bootstrapServers} and registry are required. */
  public static final class Builder {
    private String bootstrapServers;
    private String registryUrl;
    private Stage pool = Stage.BASE;
    private int workers = 1;
    private int slots = 1;
    private long taskMillis = 50;

    private Builder() {}

    public Builder bootstrapServers(String v) {
      bootstrapServers = v;
      return this;
    }

    /** The schema registry the records are written and read with. */
    public Builder registryUrl(String v) {
      registryUrl = v;
      return this;
    }

    /** The pool, {@code BASE} (default) or {@code UPSCALE}: which task topic the workers read. */
    public Builder pool(Stage v) {
      pool = v;
      return this;
    }

    /** Workers, one per task-topic partition from 0 (the topic must have that many). */
    public Builder workers(int v) {
      workers = v;
      return this;
    }

    /** Slots per worker (default 1); beyond the first, tasks are held until the worker is free. */
    public Builder slots(int v) {
      slots = v;
      return this;
    }

    /** Emulated duration of each task (default 50 ms); {@link #taskMillis} changes it later. */
    public Builder taskMillis(long v) {
      taskMillis = v;
      return this;
    }

    /** Starts the workers: each announces READY. */
    public EmulatedWorkers build() {
      if (bootstrapServers == null || bootstrapServers.isBlank()) {
        throw new IllegalArgumentException("bootstrapServers is required");
      }
      if (registryUrl == null || registryUrl.isBlank()) {
        throw new IllegalArgumentException("registryUrl is required");
      }
      Objects.requireNonNull(pool, "pool");
      if (workers < 1 || slots < 1 || taskMillis < 0) {
        throw new IllegalArgumentException(
            "workers and slots must be >= 1 and taskMillis >= 0, got workers="
                + workers
                + " slots="
                + slots
                + " taskMillis="
                + taskMillis);
      }
      return new EmulatedWorkers(this);
    }
  }
}
