package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.Schedule;

/** A schedule as the trigger keeps it (Flink POJO). */
public class ScheduleState {
  public Schedule schedule;

  /** Next cron fire time (epoch millis), 0 when none is scheduled (paused, invalid). */
  public long nextFire;

  /** Last cron fire time handled. */
  public long lastFire;

  /** Last "run now" request handled. */
  public Long lastRunRequestedAt;

  public ScheduleState() {}
}
