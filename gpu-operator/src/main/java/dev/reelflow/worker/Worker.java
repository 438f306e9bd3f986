package dev.reelflow.worker;

import dev.reelflow.config.Durations;
import dev.reelflow.schemas.DeadLetters;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.ErrorInfo;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.storage.AlreadyPublishedException;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.Manifest;
import dev.reelflow.storage.StorageException;
import dev.reelflow.storage.StoredObject;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineStatus;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One worker slot: a member of the pool's consumer group that runs one task at a time.
 *
 * <p>The poll thread owns the consumer and never blocks on a task: while a task runs on the task
 * thread, the worker pauses its partitions and keeps polling, so its group membership holds through
 * long renders. The task's offset is committed only after its final event (COMPLETED or FAILED) is
 * acknowledged; if the partition moves to another worker meanwhile, the offset is committed at
 * revocation so the new owner does not render it again (the orchestrator's lease covers a worker
 * that dies).
 */
final class Worker implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);

  /** Shared parts of the process. */
  record Shared(
      WorkerConfig config,
      Producer<String, SpecificRecord> producer,
      AvroRecordDeserializer<RenderTask> taskReader,
      ArtifactStore store,
      TaskLedger ledger,
      WorkerMetrics metrics,
      Map<String, Object> consumerProps,
      long memoryBudget) {}

  /** A finished task whose offset the poll thread commits. */
  private record Done(TopicPartition partition, long nextOffset, boolean commit) {}

  private final String id;
  private final Shared shared;
  private final StageRunner runner;
  private final StageEvents events;
  private final Stage pool;
  private final String topic;
  private final WorkerMetrics.Busy busy;
  private final ExecutorService taskThread;
  private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final CountDownLatch joined = new CountDownLatch(1);

  private volatile TaskRun running;
  private volatile TopicPartition runningPartition;
  private volatile long runningOffset;
  private volatile boolean runningOffsetCommitted;
  private volatile boolean draining;
  private volatile boolean stopNow;
  private volatile long drainStartNanos;
  private volatile boolean alive = true;
  private volatile List<Integer> owned = List.of();

  /** The engine status last seen on the poll thread (and announced while idle). */
  private volatile EngineStatus engineStatus = EngineStatus.ready();

  private KafkaConsumer<String, byte[]> consumer;

  Worker(String id, Shared shared, StageRunner runner, StageEvents events) {
    this.id = id;
    this.shared = shared;
    this.runner = runner;
    this.events = events;
    this.pool = shared.config().pool();
    this.topic = pool == Stage.BASE ? Topics.TASKS_BASE : Topics.TASKS_UPSCALE;
    this.busy = shared.metrics().busy(id);
    this.taskThread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "task-" + id);
              t.setDaemon(true);
              return t;
            });
  }

  String id() {
    return id;
  }

  boolean healthy() {
    return alive && !draining;
  }

  boolean alive() {
    return alive;
  }

  /** What the engine said it was doing when the poll thread last asked. */
  EngineStatus engineStatus() {
    return engineStatus;
  }

  /** The running task, or null. */
  TaskRun running() {
    return running;
  }

  /** Stops taking tasks; finishes the running one within the grace period, else hands it back. */
  void drain() {
    if (!draining) {
      drainStartNanos = System.nanoTime();
      draining = true;
    }
  }

  /** Stops at once: the running task is handed back (FAILED DRAINED). */
  void stopNow() {
    stopNow = true;
    drain();
    TaskRun r = running;
    if (r != null) {
      r.cancel(ErrorCode.DRAINED, "worker " + id + " is stopping");
    }
  }

  boolean awaitJoined(Duration timeout) throws InterruptedException {
    return joined.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** Cancels the running task if it belongs to {@code requestId}. */
  void cancel(String requestId, String reason) {
    TaskRun r = running;
    if (r != null && r.task.getRequestId().equals(requestId)) {
      LOG.info("cancelling {} of {}: {}", r.task.getTaskId(), requestId, reason);
      r.cancel(ErrorCode.CANCELLED, reason == null ? "cancelled by a command" : reason);
    }
  }

  /** Heartbeat tick: HEARTBEAT for the running task, and the task timeout. */
  void heartbeat() {
    TaskRun r = running;
    if (r == null || !r.started()) {
      return;
    }
    if (!r.beat()) {
      // Silent longer than the lease (this process was frozen): the attempt is fenced, and a
      // late heartbeat would only be ignored. The task stops at its next check.
      return;
    }
    events.heartbeat(r.task, r.step(), r.total(), r.phase());
    long elapsed = System.nanoTime() - r.startedNanos;
    if (elapsed > shared.config().taskTimeout().toNanos()) {
      r.cancel(
          ErrorCode.TIMEOUT,
          "task ran longer than "
              + WorkerConfig.TASK_TIMEOUT.name()
              + "="
              + Durations.format(shared.config().taskTimeout()));
    }
  }

  @Override
  public void run() {
    MDC.put("workerId", id);
    try {
      engineStatus = runner.status();
      shared.metrics().engine(id, () -> engineStatus);
      consumer = new KafkaConsumer<>(shared.consumerProps());
      consumer.subscribe(List.of(topic), new Rebalance());
      loop();
    } catch (Throwable t) {
      LOG.error("worker {} stopped on an unexpected error", id, t);
    } finally {
      alive = false;
      shutdown();
      joined.countDown();
      stopped.countDown();
      MDC.remove("workerId");
    }
  }

  /** On the poll thread: task records skipped (duplicate or fenced) since the last poll. */
  private final List<String> skippedUnannounced = new ArrayList<>();

  /** On the poll thread: a record read after its lease was skipped since the last poll. */
  private boolean skippedStale;

  private void loop() {
    boolean announcedDraining = false;
    Duration poll = shared.config().pollTimeout();
    while (true) {
      commitFinished();
      watchEngine();
      reannounceIfLost();
      if (draining) {
        if (!announcedDraining) {
          announcedDraining = true;
          consumer.pause(consumer.assignment());
          events.worker(WorkerEventType.DRAINING, 0, 1, owned, runningIds());
          LOG.info("worker {} draining (grace {} ms)", id, shared.config().drainGrace().toMillis());
        }
        TaskRun r = running;
        if (r == null && done.isEmpty()) {
          return;
        }
        if (r != null
            && (stopNow
                || System.nanoTime() - drainStartNanos > shared.config().drainGrace().toNanos())) {
          r.cancel(
              ErrorCode.DRAINED,
              "worker "
                  + id
                  + " drained: the task did not finish within "
                  + WorkerConfig.DRAIN_GRACE.name()
                  + "="
                  + Durations.format(shared.config().drainGrace()));
        }
      }
      ConsumerRecords<String, byte[]> records;
      try {
        records = consumer.poll(poll);
      } catch (WakeupException e) {
        continue;
      }
      for (ConsumerRecord<String, byte[]> rec : records) {
        if (running != null || draining || !engineStatus.isReady()) {
          // Fetched before the pause took effect: read it again later (or by the next owner).
          consumer.seek(new TopicPartition(rec.topic(), rec.partition()), rec.offset());
          continue;
        }
        accept(rec);
      }
      if ((!skippedUnannounced.isEmpty() || skippedStale) && running == null && !draining) {
        // The scheduler counts a release against our slot until we speak: after skipping one
        // (duplicate, fenced or stale) and taking nothing else, say the slot is free, or an idle
        // slot stays counted busy (the dispatch stall BurstIT found). The READY lists the
        // duplicate and fenced tasks as taken, which confirms their releases, so the scheduler
        // does not dispatch them again (a loop after a restore). A task taken instead announces
        // itself (STARTED) and the slot when it ends.
        announceIdle(engineStatus, List.copyOf(skippedUnannounced));
      }
      skippedUnannounced.clear();
      skippedStale = false;
    }
  }

  private void accept(ConsumerRecord<String, byte[]> rec) {
    TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
    RenderTask task;
    try {
      task = shared.taskReader().deserialize(rec.topic(), rec.value());
      if (task == null) {
        throw new IllegalArgumentException("null task value");
      }
    } catch (RuntimeException e) {
      deadLetter(rec, e);
      commit(tp, rec.offset() + 1);
      return;
    }
    TaskLedger.Verdict v = shared.ledger().admit(task);
    boolean stale = false;
    if (v == TaskLedger.Verdict.RUN && leaseExpired(task)) {
      // Read more than a lease after its release (left behind by a worker that died, or held up
      // by a broker outage): the scheduler has taken that release back and released the task
      // again with a new dispatch time, or will, so this record is not run.
      v = TaskLedger.Verdict.FENCED;
      stale = true;
      shared.ledger().ended(task.getTaskId());
    }
    if (v == TaskLedger.Verdict.DUPLICATE || v == TaskLedger.Verdict.FENCED) {
      LOG.info(
          "skipping {} task {} (offset {})",
          stale ? "stale" : v.name().toLowerCase(),
          task.getTaskId(),
          rec.offset());
      shared.metrics().tasks.labelValues(pool.name(), v.name().toLowerCase()).inc();
      commit(tp, rec.offset() + 1);
      if (stale) {
        // Not listed as taken: the new release has the same task id, and confirming it would
        // leave it to nobody (BrokerFaultIT at full size: a render stayed QUEUED for good).
        skippedStale = true;
      } else {
        skippedUnannounced.add(task.getTaskId());
      }
      return;
    }
    consumer.pause(consumer.assignment());
    runningPartition = tp;
    runningOffset = rec.offset();
    runningOffsetCommitted = false;
    Path workDir;
    try {
      workDir =
          Files.createDirectories(shared.config().workDir().resolve(safeName(task.getTaskId())));
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot create task directory under " + shared.config().workDir() + ": " + e, e);
    }
    TaskRun run =
        new TaskRun(
            task,
            workDir,
            shared.memoryBudget(),
            shared.config().offloadWeights(),
            events,
            shared.metrics(),
            pool.name());
    if (v == TaskLedger.Verdict.CANCELLED) {
      run.cancel(
          ErrorCode.CANCELLED,
          "render " + task.getRequestId() + " was cancelled before its task started");
    }
    running = run;
    busy.start();
    taskThread.submit(() -> execute(run, tp, rec.offset()));
  }

  private void execute(TaskRun run, TopicPartition tp, long offset) {
    RenderTask task = run.task;
    MDC.put("workerId", id);
    MDC.put("requestId", task.getRequestId());
    MDC.put("taskId", task.getTaskId());
    String outcome = "failed";
    boolean commit = true;
    try {
      if (shared.config().dedupeCheckStore() && stageManifestExists(task)) {
        LOG.info(
            "skipping task {}: its stage manifest already exists (completed before)",
            task.getTaskId());
        outcome = "duplicate";
        shared.ledger().finished(task.getTaskId());
        return;
      }
      run.checkCancelled();
      if (task.getStage() != pool) {
        throw EngineException.badParameters(
            "task "
                + task.getTaskId()
                + " is for stage "
                + task.getStage()
                + " but this worker serves "
                + pool);
      }
      if (task.getDeadline() != null && task.getDeadline().isBefore(Instant.now())) {
        throw new EngineException(
            ErrorCode.DEADLINE_EXCEEDED,
            "the render's deadline " + task.getDeadline() + " has passed",
            false,
            null);
      }
      events.started(task, "engine " + runner.describe().name() + " on " + id);
      run.fenceAfter(Duration.ofMillis(task.getLeaseMillis()), shared.config().heartbeatInterval());
      run.markStarted();
      LOG.info("started {}", task.getTaskId());
      StageRunner.Result result;
      try {
        result = runner.run(task, run);
      } catch (AlreadyPublishedException e) {
        // An earlier attempt published the final result completely and died (or was fenced)
        // before its COMPLETED counted: this attempt completes with that publication.
        result = adoptPublished(task).orElseThrow(() -> e);
        LOG.info("{}: adopted the final result an earlier attempt published", task.getTaskId());
      }
      Duration hold = shared.config().faultHoldBeforeCompleted();
      if (!hold.isZero()) {
        LOG.warn("fault injection: holding COMPLETED of {} for {}", task.getTaskId(), hold);
        Thread.sleep(hold.toMillis());
      }
      events.completed(task, result.outputs(), result.facts());
      shared.ledger().finished(task.getTaskId());
      outcome = "completed";
      LOG.info(
          "completed {} in {} ms",
          task.getTaskId(),
          (System.nanoTime() - run.startedNanos) / 1_000_000);
    } catch (TaskCancelledException e) {
      outcome =
          e.code() == ErrorCode.DRAINED
              ? "drained"
              : e.code() == ErrorCode.CANCELLED ? "cancelled" : "failed";
      commit = fail(run, e.code(), e.getMessage(), e.retryable());
    } catch (EngineException e) {
      outcome = e.code() == ErrorCode.BAD_PARAMETERS ? "refused" : "failed";
      commit = fail(run, e.code(), e.getMessage(), e.retryable());
    } catch (AlreadyPublishedException e) {
      commit =
          fail(
              run,
              ErrorCode.STORAGE_ERROR,
              "the final result was already published by another attempt: " + e.getMessage(),
              false);
    } catch (StorageException e) {
      commit = fail(run, ErrorCode.STORAGE_ERROR, "storage failed: " + e.getMessage(), true);
    } catch (StageEvents.EventDeliveryException e) {
      LOG.error("{}", e.getMessage());
      commit = false;
    } catch (InterruptedException e) {
      commit =
          fail(
              run,
              ErrorCode.DRAINED,
              "worker " + id + " was interrupted while running the task",
              true);
    } catch (OutOfMemoryError e) {
      commit = fail(run, ErrorCode.OUT_OF_MEMORY, "out of memory: " + e.getMessage(), true);
    } catch (IllegalArgumentException e) {
      commit = fail(run, ErrorCode.BAD_PARAMETERS, e.getMessage(), false);
    } catch (RuntimeException e) {
      LOG.error("task {} failed", task.getTaskId(), e);
      commit = fail(run, ErrorCode.ENGINE_ERROR, e.toString(), true);
    } finally {
      shared.metrics().tasks.labelValues(pool.name(), outcome).inc();
      shared
          .metrics()
          .taskSeconds
          .labelValues(pool.name(), outcome)
          .observe((System.nanoTime() - run.startedNanos) / 1e9);
      deleteQuietly(run.workDir());
      shared.ledger().ended(task.getTaskId());
      busy.stop();
      done.add(new Done(tp, offset + 1, commit));
      // Interrupt the poll so the slot is announced now, not after the poll timeout.
      KafkaConsumer<String, byte[]> c = consumer;
      if (c != null) {
        c.wakeup();
      }
      MDC.remove("requestId");
      MDC.remove("taskId");
    }
  }

  /** Sends FAILED; returns whether the offset may be committed (the event was acknowledged). */
  private boolean fail(TaskRun run, ErrorCode code, String message, boolean retryable) {
    RenderTask task = run.task;
    LOG.info("task {} failed: {} {} (retryable {})", task.getTaskId(), code, message, retryable);
    try {
      events.failed(
          task,
          ErrorInfo.newBuilder()
              .setCode(code)
              .setMessage(message == null ? "" : message)
              .setRetryable(retryable)
              .build());
      if (code == ErrorCode.DRAINED) {
        shared.ledger().handedBack(task.getTaskId());
      } else {
        shared.ledger().finished(task.getTaskId());
      }
      return true;
    } catch (StageEvents.EventDeliveryException e) {
      LOG.error("{}", e.getMessage());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * The final result already under the task's final keys, when it is complete: its final manifest
   * names this render and every output it lists is in the bucket with the manifest's SHA-256. Empty
   * when any part is missing or differs (then the conflict stands).
   */
  private java.util.Optional<StageRunner.Result> adoptPublished(RenderTask task) {
    if (!task.getPublishFinal()) {
      return java.util.Optional.empty();
    }
    try {
      String manifestKey = StageArtifacts.finalKey(task, ArtifactKeys.MANIFEST_FILE);
      java.util.Optional<StoredObject> stored = shared.store().find(manifestKey);
      if (stored.isEmpty()) {
        return java.util.Optional.empty();
      }
      Manifest m = Manifest.fromJson(shared.store().getBytes(manifestKey, true));
      if (!task.getRequestId().equals(m.requestId())) {
        return java.util.Optional.empty();
      }
      List<OutputArtifact> outputs = new ArrayList<>();
      for (Manifest.Output o : m.outputs()) {
        java.util.Optional<StoredObject> obj = shared.store().find(o.key());
        if (obj.isEmpty() || !obj.get().sha256().equals(o.sha256())) {
          return java.util.Optional.empty();
        }
        outputs.add(o.toAvro());
      }
      StoredObject mo = stored.get();
      outputs.add(
          OutputArtifact.newBuilder()
              .setName("manifest")
              .setKey(mo.key())
              .setSizeBytes(mo.sizeBytes())
              .setSha256(mo.sha256())
              .setContentType(Manifest.CONTENT_TYPE)
              .build());
      return java.util.Optional.of(
          new StageRunner.Result(outputs, Map.of("adoptedPublication", "true")));
    } catch (RuntimeException e) {
      LOG.warn("cannot adopt the published result of {}: {}", task.getTaskId(), e.toString());
      return java.util.Optional.empty();
    }
  }

  static boolean leaseExpired(RenderTask task) {
    return task.getDispatchedAt().plusMillis(task.getLeaseMillis()).isBefore(Instant.now());
  }

  private boolean stageManifestExists(RenderTask task) {
    try {
      return shared
          .store()
          .find(StageArtifacts.stageKey(task, ArtifactKeys.MANIFEST_FILE))
          .isPresent();
    } catch (StorageException e) {
      LOG.warn(
          "cannot check for an earlier completion of {}: {}", task.getTaskId(), e.getMessage());
      return false;
    }
  }

  /** On the poll thread: commits finished tasks, resumes and announces the free slot. */
  private void commitFinished() {
    Done d;
    List<Done> finished = new ArrayList<>();
    while ((d = done.poll()) != null) {
      finished.add(d);
      running = null;
      runningPartition = null;
    }
    if (finished.isEmpty()) {
      return;
    }
    if (!draining) {
      // Announce first: the commit is a round trip the next dispatch need not wait for (a
      // redelivery after a crash in between is skipped as completed or lease-expired).
      EngineStatus now = runner.status();
      noteEngine(now);
      announceIdle(now);
    }
    for (Done f : finished) {
      if (f.commit() && !runningOffsetCommitted && consumer.assignment().contains(f.partition())) {
        commit(f.partition(), f.nextOffset());
      }
    }
  }

  /**
   * On the poll thread: follows the engine's status (a resident program loading its model,
   * restarting, or given up) and, while no task runs, announces the slot free only when the engine
   * is ready; otherwise the partitions stay paused and the announcement says why.
   */
  private void watchEngine() {
    if (running != null) {
      return; // busy with our own task; commitFinished looks again when it ends
    }
    EngineStatus now = runner.status();
    if (now.equals(engineStatus)) {
      return;
    }
    noteEngine(now);
    // Before the first assignment there is nothing to announce: onPartitionsAssigned says it.
    if (!draining && joined.getCount() == 0) {
      announceIdle(now);
    }
  }

  private void noteEngine(EngineStatus now) {
    EngineStatus before = engineStatus;
    engineStatus = now;
    if (now.equals(before)) {
      return;
    }
    if (now.isReady()) {
      LOG.info("worker {}: engine ready", id);
    } else if (now.state() == EngineStatus.State.UNAVAILABLE) {
      LOG.error("worker {}: engine unavailable, the slot takes no task: {}", id, now.reason());
    } else {
      LOG.info("worker {}: engine {}: {}", id, now.state(), now.reason());
    }
  }

  /** Idle slot: free and consuming when the engine is ready, else paused and saying why. */
  private void announceIdle(EngineStatus now) {
    announceIdle(now, List.of());
  }

  /** As {@link #announceIdle(EngineStatus)}, confirming {@code taken} releases as consumed. */
  private void announceIdle(EngineStatus now, List<String> taken) {
    if (now.isReady()) {
      consumer.resume(consumer.assignment());
    } else {
      consumer.pause(consumer.assignment());
    }
    boolean sent =
        events.worker(WorkerEventType.READY, now.isReady() ? 1 : 0, 1, owned, taken, now);
    noteAnnounced(sent, taken);
  }

  /** When to announce the idle slot again (System.nanoTime()), 0 when the last one went out. */
  private long reannounceAtNanos;

  /** The releases the lost announcement confirmed, repeated by the next one. */
  private List<String> reannounceTaken = List.of();

  private static final long REANNOUNCE_NANOS = Duration.ofSeconds(1).toNanos();

  private void noteAnnounced(boolean sent, List<String> taken) {
    if (sent) {
      reannounceAtNanos = 0;
      reannounceTaken = List.of();
    } else {
      reannounceAtNanos = System.nanoTime() + REANNOUNCE_NANOS;
      reannounceTaken = taken;
    }
  }

  /**
   * On the poll thread: an idle slot whose READY was not sent (the schema registry down: a worker
   * started during a registry restart has no cached schema) or not delivered says it again, every
   * second until it goes out. Otherwise the scheduler never learns of the slot and an idle worker
   * sends nothing else (BrokerFaultIT's scenario 7 at full size).
   */
  private void reannounceIfLost() {
    if (events.takeUndeliveredWorkerEvent() && reannounceAtNanos == 0) {
      reannounceAtNanos = System.nanoTime();
    }
    if (reannounceAtNanos == 0
        || running != null
        || draining
        || joined.getCount() != 0
        || System.nanoTime() - reannounceAtNanos < 0) {
      return;
    }
    LOG.info("worker {}: announcing the idle slot again (the last announcement was lost)", id);
    announceIdle(engineStatus, reannounceTaken);
  }

  private void commit(TopicPartition tp, long nextOffset) {
    try {
      try {
        consumer.commitSync(Map.of(tp, new OffsetAndMetadata(nextOffset)));
      } catch (WakeupException e) {
        // A task finished during the commit and woke the consumer: commit again.
        consumer.commitSync(Map.of(tp, new OffsetAndMetadata(nextOffset)));
      }
    } catch (KafkaException e) {
      LOG.warn("could not commit offset {} of {}: {}", nextOffset, tp, e.toString());
    }
  }

  private List<String> runningIds() {
    TaskRun r = running;
    return r == null ? List.of() : List.of(r.task.getTaskId());
  }

  private void deadLetter(ConsumerRecord<String, byte[]> rec, RuntimeException e) {
    LOG.error(
        "unreadable task record {}-{}@{}: {}",
        rec.topic(),
        rec.partition(),
        rec.offset(),
        e.toString());
    shared.metrics().tasks.labelValues(pool.name(), "unreadable").inc();
    DeadLetter dl =
        DeadLetter.newBuilder()
            .setSourceTopic(rec.topic())
            .setPartition(rec.partition())
            .setOffset(rec.offset())
            .setKey(rec.key())
            .setValue(rec.value() == null ? null : ByteBuffer.wrap(rec.value()))
            .setErrorClass(e.getClass().getName())
            .setReason(String.valueOf(e.getMessage()))
            .setComponent("worker")
            .setRequestId(rec.key())
            .setAt(Instant.now())
            .build();
    // One header scheme on render.dlq for every component: the schemas module's.
    ProducerRecord<String, SpecificRecord> out =
        new ProducerRecord<>(Topics.DLQ, null, rec.key(), dl, DeadLetters.headers(dl));
    shared.producer().send(out);
  }

  private void shutdown() {
    try {
      TaskRun r = running;
      if (r != null) {
        r.cancel(ErrorCode.DRAINED, "worker " + id + " is stopping");
      }
      taskThread.shutdown();
      taskThread.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
      if (consumer != null) {
        commitFinished();
        consumer.close(Duration.ofSeconds(10)); // leaves the group now, not after session timeout
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.warn("error while closing worker {}: {}", id, e.toString());
    } finally {
      events.worker(WorkerEventType.STOPPED, 0, 1, List.of(), List.of());
      events.flush();
      runner.close();
      LOG.info("worker {} stopped", id);
    }
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      TopicPartition tp = runningPartition;
      if (tp != null && partitions.contains(tp) && !runningOffsetCommitted) {
        // We keep rendering it; the next owner must not start it again.
        commit(tp, runningOffset + 1);
        runningOffsetCommitted = true;
      }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      // Not ours any more and cannot commit: the orchestrator's lease and dedupe take over.
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      List<Integer> now = new ArrayList<>();
      for (TopicPartition p : consumer.assignment()) {
        now.add(p.partition());
      }
      now.sort(Comparator.naturalOrder());
      owned = List.copyOf(now);
      EngineStatus engine = engineStatus;
      if (running != null || draining || !engine.isReady()) {
        consumer.pause(partitions);
      }
      joined.countDown();
      if (!draining) {
        boolean sent =
            events.worker(
                WorkerEventType.READY,
                running == null && engine.isReady() ? 1 : 0,
                1,
                owned,
                runningIds(),
                engine);
        noteAnnounced(sent, List.of());
      }
      LOG.info("worker {} owns partitions {} of {}", id, owned, topic);
    }
  }

  static String safeName(String taskId) {
    return taskId.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  static void deleteQuietly(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.debug("could not delete {}: {}", dir, e.toString());
    }
  }
}
