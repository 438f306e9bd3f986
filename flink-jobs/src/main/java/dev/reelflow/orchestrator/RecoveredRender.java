package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.StageEvent;

/**
 * An acknowledged render that a job started without state found unfinished on the topics (see
 * {@link UnfinishedRenders}): its request, the last status written for it (null when none was), and
 * the COMPLETED events of its stages that the workers had already reported. A Flink POJO whose
 * fields are Avro records.
 */
public class RecoveredRender {
  public RenderRequest request;
  public RenderStatus lastStatus;

  /** COMPLETED of the base stage of a render that is upscaled afterwards, or null. */
  public StageEvent baseCompleted;

  /** COMPLETED of the stage that published the final outputs, or null. */
  public StageEvent finalCompleted;

  public RecoveredRender() {}
}
