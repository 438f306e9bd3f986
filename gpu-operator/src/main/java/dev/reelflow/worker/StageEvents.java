package dev.reelflow.worker;

import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.ErrorInfo;
import dev.reelflow.schemas.avro.OutputArtifact;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.WorkerEvent;
import dev.reelflow.schemas.avro.WorkerEventType;
import dev.reelflow.worker.spi.EngineStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a worker's stage events (render.stage-events, keyed by requestId) and worker events
 * (render.worker-events, keyed by workerId). Progress and heartbeats are fire-and-forget; final
 * events (COMPLETED, FAILED) are sent until acknowledged, because the task's offset is committed
 * only after that.
 */
final class StageEvents {
  private static final Logger LOG = LoggerFactory.getLogger(StageEvents.class);
  private static final int FINAL_SEND_TRIES = 5;

  /** What a worker says about itself in every worker event. */
  record Identity(
      String workerId, Stage pool, String device, long deviceMemoryBytes, String engine) {}

  private final Producer<String, SpecificRecord> producer;
  private final Identity me;

  /**
   * How long a final event's acknowledgement is awaited at a time (of {@link #FINAL_SEND_TRIES}).
   */
  private final Duration ackWait;

  StageEvents(Producer<String, SpecificRecord> producer, Identity me) {
    this(producer, me, Duration.ofSeconds(30));
  }

  StageEvents(Producer<String, SpecificRecord> producer, Identity me, Duration ackWait) {
    this.producer = producer;
    this.me = me;
    this.ackWait = ackWait;
  }

  Identity identity() {
    return me;
  }

  private StageEvent.Builder base(RenderTask t, StageEventType type) {
    return StageEvent.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setTaskId(t.getTaskId())
        .setRequestId(t.getRequestId())
        .setTenant(t.getTenant())
        .setStage(t.getStage())
        .setAttempt(t.getAttempt())
        .setWorkerId(me.workerId())
        .setType(type)
        .setAt(Instant.now());
  }

  void started(RenderTask t, String message) {
    send(base(t, StageEventType.STARTED).setMessage(message).build());
  }

  void heartbeat(RenderTask t, int step, int total, String phase) {
    StageEvent.Builder b = base(t, StageEventType.HEARTBEAT).setMessage(phase);
    if (total > 0) {
      b.setStep(step).setTotalSteps(total);
    }
    send(b.build());
  }

  void progress(RenderTask t, int step, int total, long etaMillis, String phase) {
    send(
        base(t, StageEventType.PROGRESS)
            .setStep(step)
            .setTotalSteps(total)
            .setEtaMillis(etaMillis)
            .setMessage(phase)
            .build());
  }

  void completed(RenderTask t, List<OutputArtifact> outputs, Map<String, String> facts)
      throws EventDeliveryException, InterruptedException {
    sendAcked(base(t, StageEventType.COMPLETED).setOutputs(outputs).setFacts(facts).build());
  }

  void failed(RenderTask t, ErrorInfo error) throws EventDeliveryException, InterruptedException {
    sendAcked(
        base(t, StageEventType.FAILED).setError(error).setMessage(error.getMessage()).build());
  }

  void worker(
      WorkerEventType type,
      int freeSlots,
      int totalSlots,
      List<Integer> owned,
      List<String> running) {
    worker(type, freeSlots, totalSlots, owned, running, null);
  }

  /**
   * Set when a worker event was handed to the producer but not delivered (the broker refused it or
   * its delivery timed out); see {@link #takeUndeliveredWorkerEvent()}.
   */
  private final AtomicBoolean undeliveredWorkerEvent = new AtomicBoolean();

  /** Whether a worker event went undelivered since the last call (and clears it). */
  boolean takeUndeliveredWorkerEvent() {
    return undeliveredWorkerEvent.getAndSet(false);
  }

  /**
   * A worker event that also says what the engine is doing ({@code engine} may be null). Returns
   * false when it could not be sent at all (the schema registry or the producer refused it), so the
   * caller can announce again later; never throws.
   */
  boolean worker(
      WorkerEventType type,
      int freeSlots,
      int totalSlots,
      List<Integer> owned,
      List<String> running,
      EngineStatus engine) {
    WorkerEvent e =
        WorkerEvent.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setWorkerId(me.workerId())
            .setPool(me.pool())
            .setType(type)
            .setFreeSlots(freeSlots)
            .setTotalSlots(totalSlots)
            .setOwnedPartitions(owned)
            .setRunningTaskIds(running)
            .setDevice(me.device())
            .setDeviceMemoryBytes(me.deviceMemoryBytes() > 0 ? me.deviceMemoryBytes() : null)
            .setEngine(me.engine())
            .setAt(Instant.now())
            .setEngineState(engine == null ? null : engine.state().name())
            .setEngineReason(engine == null || engine.isReady() ? null : engine.reason())
            .build();
    try {
      producer.send(
          new ProducerRecord<>(Topics.WORKER_EVENTS, me.workerId(), e),
          (md, ex) -> {
            if (ex != null) {
              undeliveredWorkerEvent.set(true);
              LOG.warn("worker event {} not delivered: {}", type, ex.toString());
            }
          });
      return true;
    } catch (RuntimeException ex) {
      // Serialization (registry) or producer failure: the worker announces again, never dies.
      LOG.warn("worker event {} not sent: {}", type, ex.toString());
      return false;
    }
  }

  /** Blocks until every event sent so far is acknowledged (used before STOPPED/exit). */
  void flush() {
    producer.flush();
  }

  private void send(StageEvent e) {
    try {
      producer.send(
          new ProducerRecord<>(Topics.STAGE_EVENTS, e.getRequestId(), e),
          (md, ex) -> {
            if (ex != null) {
              LOG.warn(
                  "{} event of {} not delivered: {}", e.getType(), e.getTaskId(), ex.toString());
            }
          });
    } catch (RuntimeException ex) {
      // Progress and heartbeats are best effort: a registry or broker hiccup must not fail the
      // task.
      LOG.warn("{} event of {} not sent: {}", e.getType(), e.getTaskId(), ex.toString());
    }
  }

  private void sendAcked(StageEvent e) throws EventDeliveryException, InterruptedException {
    Exception last = null;
    Future<RecordMetadata> inFlight = null;
    for (int i = 1; i <= FINAL_SEND_TRIES; i++) {
      try {
        if (inFlight == null) {
          inFlight = producer.send(new ProducerRecord<>(Topics.STAGE_EVENTS, e.getRequestId(), e));
        }
        inFlight.get(ackWait.toMillis(), TimeUnit.MILLISECONDS);
        return;
      } catch (TimeoutException ex) {
        // Still in flight: the producer retries it until its delivery timeout. Sending it again
        // would write a second copy of the same event once the broker answers (a broker frozen
        // past the wait did that: two COMPLETED records of one attempt), so wait on this one.
        last = ex;
        LOG.warn(
            "{} event of {} not acknowledged within {} ms (wait {}/{}), still in flight",
            e.getType(),
            e.getTaskId(),
            ackWait.toMillis(),
            i,
            FINAL_SEND_TRIES);
      } catch (ExecutionException | RuntimeException ex) {
        inFlight = null;
        last = ex;
        LOG.warn(
            "{} event of {} not acknowledged (try {}/{}): {}",
            e.getType(),
            e.getTaskId(),
            i,
            FINAL_SEND_TRIES,
            ex.toString());
        Thread.sleep(Math.min(5000, 250L << i));
      }
    }
    throw new EventDeliveryException(
        e.getType()
            + " event of "
            + e.getTaskId()
            + " was not acknowledged by Kafka after "
            + FINAL_SEND_TRIES
            + " tries; its offset stays uncommitted",
        last);
  }

  /** A final event Kafka did not acknowledge. */
  static final class EventDeliveryException extends Exception {
    private static final long serialVersionUID = 1L;

    EventDeliveryException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
