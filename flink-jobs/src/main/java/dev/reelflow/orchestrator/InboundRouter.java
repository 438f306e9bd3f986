package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Splits the input records by who consumes them; unreadable ones go to the dead letters. */
final class InboundRouter extends ProcessFunction<Inbound, Inbound> {
  private static final long serialVersionUID = 1L;

  static final OutputTag<Inbound> SCHEDULES = new OutputTag<>("schedules-in") {};
  static final OutputTag<Inbound> POOL = new OutputTag<>("pool-in") {};
  static final OutputTag<DeadLetter> DLQ = new OutputTag<>("unreadable") {};

  @Override
  public void processElement(Inbound in, Context ctx, Collector<Inbound> lifecycle) {
    if (in.deadLetter != null) {
      ctx.output(DLQ, in.deadLetter);
    } else if (in.schedule != null || in.removedScheduleId != null) {
      ctx.output(SCHEDULES, in);
    } else if (in.workerEvent != null) {
      ctx.output(POOL, in);
    } else if (in.stageEvent != null) {
      // The lifecycle tracks the attempt; the scheduler learns its release was confirmed.
      lifecycle.collect(in);
      ctx.output(POOL, in);
    } else {
      lifecycle.collect(in);
    }
  }
}
