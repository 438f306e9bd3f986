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
  REQUESTS("render.requests", 6, false, Duration.ofDays(7), "requestId", RenderRequest.class),
  /** Cancel and reprioritize. Key: requestId. Workers read every partition. */
  COMMANDS("render.commands", 3, false, Duration.ofDays(7), "requestId", RenderCommand.class),
  /** Base-stage task attempts, written to the partition of an idle worker. Key: requestId. */
  TASKS_BASE("render.tasks.base", 16, false, Duration.ofDays(3), "requestId", RenderTask.class),
  /** Upscale-stage task attempts. Key: requestId. */
  TASKS_UPSCALE(
      "render.tasks.upscale", 16, false, Duration.ofDays(3), "requestId", RenderTask.class),
  /** Started, heartbeat, progress, completed, failed. Key: requestId. */
  STAGE_EVENTS("render.stage-events", 6, false, Duration.ofDays(3), "requestId", StageEvent.class),
  /** Worker capacity announcements (credits). Key: workerId. */
  WORKER_EVENTS(
      "render.worker-events", 3, false, Duration.ofDays(1), "workerId", WorkerEvent.class),
  /** Current state of every render, compacted. Key: requestId. */
  STATUS("render.status", 6, true, null, "requestId", RenderStatus.class),
  /** OpenLineage run events as JSON (not Avro). Key: requestId. */
  LINEAGE("render.lineage", 3, false, Duration.ofDays(30), "requestId", null),
  /** Unreadable or permanently failing records, with reason headers. Key: the source key. */
  DLQ("render.dlq", 1, false, Duration.ofDays(30), "source key", DeadLetter.class),
  /** Recurring bulk renders, compacted; a tombstone deletes. Key: scheduleId. */
  SCHEDULES("render.schedules", 1, true, null, "scheduleId", Schedule.class);

  private final String topicName;
  private final int defaultPartitions;
  private final boolean compacted;
  private final Duration retention;
  private final String keyDescription;
  private final Class<? extends SpecificRecord> valueClass;

  Topic(
      String topicName,
      int defaultPartitions,
      boolean compacted,
      Duration retention,
      String keyDescription,
      Class<? extends SpecificRecord> valueClass) {
    this.topicName = topicName;
    this.defaultPartitions = defaultPartitions;
    this.compacted = compacted;
    this.retention = retention;
    this.keyDescription = keyDescription;
    this.valueClass = valueClass;
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
