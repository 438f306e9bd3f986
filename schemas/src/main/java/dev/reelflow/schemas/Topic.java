package dev.reelflow.schemas;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.WorkerEvent;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Every Kafka topic of ReelFlow with its defaults: name, partitions, cleanup policy, retention, key
 * and value type. Partition counts can be changed per deployment through {@link Topics}.
 */
public enum Topic {
  /** Renders asked for by ingest, batches and schedule fires. Key: requestId. */
  REQUESTS(
      "render.requests",
      6,
      false,
      Duration.ofDays(7),
      "requestId",
      RenderRequest.class,
      "Renders asked for through the API (single renders and batch rows). Ingest answers 202 only"
          + " after Kafka acknowledged the record; a batch is one Kafka transaction.",
      List.of(Component.INGEST),
      List.of(Component.ORCHESTRATOR)),
  /** Cancel and reprioritize. Key: requestId. Workers read every partition. */
  COMMANDS(
      "render.commands",
      3,
      false,
      Duration.ofDays(7),
      "requestId",
      RenderCommand.class,
      "Cancel and reprioritize an existing render (from the API), and the orchestrator's CANCEL of"
          + " a render that ran past its deadline. Workers read every partition, so the one running"
          + " the render stops it between denoising steps.",
      List.of(Component.INGEST, Component.ORCHESTRATOR),
      List.of(Component.ORCHESTRATOR, Component.BASE_WORKERS, Component.UPSCALE_WORKERS)),
  /** Base-stage task attempts, written to the partition of an idle worker. Key: requestId. */
  TASKS_BASE(
      "render.tasks.base",
      16,
      false,
      Duration.ofDays(3),
      "requestId",
      RenderTask.class,
      "One record per attempt of a render's base stage, released only against a free worker slot"
          + " and written to a partition owned by an idle base worker.",
      List.of(Component.ORCHESTRATOR),
      List.of(Component.BASE_WORKERS)),
  /** Upscale-stage task attempts. Key: requestId. */
  TASKS_UPSCALE(
      "render.tasks.upscale",
      16,
      false,
      Duration.ofDays(3),
      "requestId",
      RenderTask.class,
      "One record per attempt of a render's 1080p upscale stage, pointing at the base stage's"
          + " artifacts; released like render.tasks.base.",
      List.of(Component.ORCHESTRATOR),
      List.of(Component.UPSCALE_WORKERS)),
  /** Started, heartbeat, progress, completed, failed. Key: requestId. */
  STAGE_EVENTS(
      "render.stage-events",
      6,
      false,
      Duration.ofDays(3),
      "requestId",
      StageEvent.class,
      "What the workers report about each task attempt: started, heartbeat, progress (step k of"
          + " n), completed (with the objects written) or failed.",
      List.of(Component.BASE_WORKERS, Component.UPSCALE_WORKERS),
      List.of(Component.ORCHESTRATOR)),
  /** Worker capacity announcements (credits). Key: workerId. */
  WORKER_EVENTS(
      "render.worker-events",
      3,
      false,
      Duration.ofDays(1),
      "workerId",
      WorkerEvent.class,
      "Each worker's capacity (free slots, owned task partitions): the credits the orchestrator's"
          + " dispatch scheduler releases tasks against.",
      List.of(Component.BASE_WORKERS, Component.UPSCALE_WORKERS),
      List.of(Component.ORCHESTRATOR)),
  /** Current state of every render, compacted. Key: requestId. */
  STATUS(
      "render.status",
      6,
      true,
      null,
      "requestId",
      RenderStatus.class,
      "The state of every render, one record per change (state, progress, queue position), written"
          + " in Kafka transactions. Compacted: the newest status of each render is kept; order"
          + " statuses of one render by version.",
      List.of(Component.ORCHESTRATOR),
      List.of(Component.INGEST, Component.DOWNSTREAM)),
  /** OpenLineage run events as JSON (not Avro). Key: requestId. */
  LINEAGE(
      "render.lineage",
      3,
      false,
      Duration.ofDays(30),
      "requestId",
      null,
      "OpenLineage run events of every render as JSON (the OpenLineage Kafka transport"
          + " convention): START, RUNNING per stage attempt, COMPLETE with the output datasets, or"
          + " FAIL. Written in Kafka transactions.",
      List.of(Component.ORCHESTRATOR),
      List.of(Component.INGEST, Component.DOWNSTREAM)),
  /** Unreadable or permanently failing records, with reason headers. Key: the source key. */
  DLQ(
      "render.dlq",
      1,
      false,
      Duration.ofDays(30),
      "source key",
      DeadLetter.class,
      "Records that could not be read or processed (unreadable bytes, unknown schema ids, refused"
          + " requests, commands for unknown renders, schedule fires that failed, renders that"
          + " failed permanently), with the raw value and the reason, also in headers"
          + " reelflow.dlq.*.",
      List.of(Component.ORCHESTRATOR, Component.BASE_WORKERS, Component.UPSCALE_WORKERS),
      List.of(Component.DOWNSTREAM)),
  /** Recurring bulk renders, compacted; a tombstone deletes. Key: scheduleId. */
  SCHEDULES(
      "render.schedules",
      1,
      true,
      null,
      "scheduleId",
      Schedule.class,
      "Recurring bulk renders (cron with time zone). Compacted: the newest definition of each"
          + " schedule is kept; a tombstone (null value) or deleted=true removes it.",
      List.of(Component.INGEST),
      List.of(Component.ORCHESTRATOR, Component.INGEST));

  private final String topicName;
  private final int defaultPartitions;
  private final boolean compacted;
  private final Duration retention;
  private final String keyDescription;
  private final Class<? extends SpecificRecord> valueClass;
  private final String description;
  private final List<Component> producers;
  private final List<Component> consumers;

  Topic(
      String topicName,
      int defaultPartitions,
      boolean compacted,
      Duration retention,
      String keyDescription,
      Class<? extends SpecificRecord> valueClass,
      String description,
      List<Component> producers,
      List<Component> consumers) {
    this.topicName = topicName;
    this.defaultPartitions = defaultPartitions;
    this.compacted = compacted;
    this.retention = retention;
    this.keyDescription = keyDescription;
    this.valueClass = valueClass;
    this.description = description;
    this.producers = List.copyOf(producers);
    this.consumers = List.copyOf(consumers);
  }

  /** What the topic carries and why, in a sentence or two. */
  public String description() {
    return description;
  }

  /** The processes that write the topic. */
  public List<Component> producers() {
    return producers;
  }

  /** The processes that read it ({@link Component#DOWNSTREAM} where outside services do). */
  public List<Component> consumers() {
    return consumers;
  }

  /** The Kafka topic name, e.g. {@code render.requests}. */
  public String topicName() {
    return topicName;
  }

  /** Partitions when no override is configured. */
  public int defaultPartitions() {
    return defaultPartitions;
  }

  /** {@code compact} or {@code delete}, as Kafka's {@code cleanup.policy}. */
  public String cleanupPolicy() {
    return compacted ? "compact" : "delete";
  }

  /** True for the compacted topics (status, schedules). */
  public boolean compacted() {
    return compacted;
  }

  /** Time-based retention; empty for compacted topics, which keep the latest value per key. */
  public Optional<Duration> retention() {
    return Optional.ofNullable(retention);
  }

  /** What the UTF-8 string key of a record is. */
  public String keyDescription() {
    return keyDescription;
  }

  /** SpecificRecord class of the values; empty for render.lineage (OpenLineage JSON). */
  public Optional<Class<? extends SpecificRecord>> valueClass() {
    return Optional.ofNullable(valueClass);
  }

  /** Avro schema of the values; empty for render.lineage. */
  public Optional<Schema> valueSchema() {
    return valueClass().map(c -> SpecificData.get().getSchema(c));
  }

  /** Registry subject of the values under TopicNameStrategy: {@code <topic>-value}. */
  public String valueSubject() {
    return topicName + "-value";
  }

  /** The topic with this name. */
  public static Topic byName(String topicName) {
    for (Topic t : values()) {
      if (t.topicName.equals(topicName)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown topic '" + topicName + "'; ReelFlow topics are " + Topics.defaults().names());
  }
}
