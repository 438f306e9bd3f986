package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.Stage;
import java.util.HashMap;
import java.util.Map;

/** The lifecycle's state of one render (Flink POJO, one per request id). */
public class RenderRecord {
  public RenderRequest request;
  public RenderState state;
  public Stage stage;

  /** Attempt of the current stage, from 1; events of other attempts are fenced. */
  public int attempt;

  /** Attempts over all stages. */
  public int attempts;

  /**
   * Lowest attempt number a stage of this render may use, 0 when any: set when the render was taken
   * over after the state was lost, so no task id or late event of the lost attempts matches.
   */
  public int attemptFloor;

  /** Status sequence; the emitted version is {@code seq << 20}. */
  public long seq;

  public int priority;
  public Long deadline;
  public long createdAt;
  public String lineageRunId;
  public String workerId;
  public Integer step;
  public Integer totalSteps;
  public Long etaMillis;

  /** Base outputs the upscale stage reads (latents, preview, manifest). */
  public Map<String, String> upscaleInputs = new HashMap<>();

  /** Lease end of the running attempt (epoch millis), 0 when none. */
  public long leaseUntil;

  /** Time of the registered lease timer, 0 when none. */
  public long leaseTimer;

  /** When the backoff of a retry ends and the next attempt is queued, 0 when none. */
  public long retryAt;

  /** When a finished render's state is dropped. */
  public long cleanupAt;

  /** When the render entered the current QUEUED state (queue wait metric). */
  public long queuedAt;

  /** When the current attempt started running (stage duration estimate), 0 when not running. */
  public long runningSince;

  /** Latest start of the queued stage that still meets the deadline (its timer), 0 when none. */
  public long latestStart;

  public RenderRecord() {}

  boolean terminal() {
    return state == RenderState.SUCCEEDED
        || state == RenderState.FAILED
        || state == RenderState.CANCELLED
        || state == RenderState.EXPIRED;
  }

  boolean running() {
    return state == RenderState.RENDERING || state == RenderState.UPSCALING;
  }
}
