package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderCommand;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.WorkerEvent;

/**
 * One record read from an input topic: exactly one of the value fields is set, or {@link
 * #deadLetter} when the record could not be read, or {@link #removedScheduleId} for a schedule
 * tombstone. A Flink POJO; the Avro fields are serialized by Flink's Avro serializer.
 */
public class Inbound {
  public RenderRequest request;
  public RenderCommand command;
  public StageEvent stageEvent;
  public WorkerEvent workerEvent;
  public Schedule schedule;
  public String removedScheduleId;
  public DeadLetter deadLetter;

  /** An unfinished render taken over from the topics after a start without state. */
  public RecoveredRender recovered;

  public Inbound() {}

  static Inbound of(RenderRequest r) {
    Inbound i = new Inbound();
    i.request = r;
    return i;
  }

  static Inbound of(RenderCommand c) {
    Inbound i = new Inbound();
    i.command = c;
    return i;
  }

  static Inbound of(StageEvent e) {
    Inbound i = new Inbound();
    i.stageEvent = e;
    return i;
  }

  static Inbound of(WorkerEvent e) {
    Inbound i = new Inbound();
    i.workerEvent = e;
    return i;
  }

  static Inbound of(Schedule s) {
    Inbound i = new Inbound();
    i.schedule = s;
    return i;
  }

  static Inbound removedSchedule(String scheduleId) {
    Inbound i = new Inbound();
    i.removedScheduleId = scheduleId;
    return i;
  }

  static Inbound recovered(RecoveredRender r) {
    Inbound i = new Inbound();
    i.recovered = r;
    return i;
  }

  static Inbound dead(DeadLetter d) {
    Inbound i = new Inbound();
    i.deadLetter = d;
    return i;
  }

  /** Key used to route the record: requestId, scheduleId or pool. */
  String requestId() {
    if (request != null) {
      return request.getRequestId();
    }
    if (command != null) {
      return command.getRequestId();
    }
    if (stageEvent != null) {
      return stageEvent.getRequestId();
    }
    if (recovered != null) {
      return recovered.request.getRequestId();
    }
    return null;
  }

  String scheduleId() {
    if (schedule != null) {
      return schedule.getScheduleId();
    }
    return removedScheduleId;
  }
}
