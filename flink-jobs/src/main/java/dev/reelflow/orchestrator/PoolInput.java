package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.WorkerEvent;

/** One input of a pool's scheduler: a lifecycle command, a worker's capacity or a stage event. */
public class PoolInput {
  public PoolCommand command;
  public WorkerEvent workerEvent;
  public StageEvent stageEvent;

  public PoolInput() {}

  static PoolInput of(PoolCommand c) {
    PoolInput p = new PoolInput();
    p.command = c;
    return p;
  }

  static PoolInput of(WorkerEvent e) {
    PoolInput p = new PoolInput();
    p.workerEvent = e;
    return p;
  }

  static PoolInput of(StageEvent e) {
    PoolInput p = new PoolInput();
    p.stageEvent = e;
    return p;
  }

  String pool() {
    if (command != null) {
      return command.pool;
    }
    if (workerEvent != null) {
      return workerEvent.getPool().name();
    }
    return stageEvent.getStage().name();
  }
}
