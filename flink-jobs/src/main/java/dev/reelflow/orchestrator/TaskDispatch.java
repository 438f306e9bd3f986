package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderTask;

/** A task released to a pool: written to {@link #partition}, owned by an idle worker. */
public class TaskDispatch {
  public RenderTask task;
  public String topic;
  public int partition;
  public String workerId;

  public TaskDispatch() {}

  TaskDispatch(RenderTask task, String topic, int partition, String workerId) {
    this.task = task;
    this.topic = topic;
    this.partition = partition;
    this.workerId = workerId;
  }
}
