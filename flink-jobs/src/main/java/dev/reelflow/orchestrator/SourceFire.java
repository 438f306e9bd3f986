package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.Schedule;

/** One fire of a schedule whose rows live in an NDJSON object (Flink POJO). */
public class SourceFire {
  public Schedule schedule;

  /** The fire time (epoch millis) the request ids are derived from. */
  public long fireTime;

  public SourceFire() {}

  SourceFire(Schedule schedule, long fireTime) {
    this.schedule = schedule;
    this.fireTime = fireTime;
  }
}
