package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Last stop before render.status (keyed by request id): drops a status whose version is not newer
 * than the last one written, so a queue-position update that raced a transition can never become
 * the compacted topic's last word on a render.
 */
final class StatusGate extends KeyedProcessFunction<String, RenderStatus, RenderStatus> {
  private static final long serialVersionUID = 1L;

  private final long retentionMillis;
  private transient ValueState<Long> lastVersion;

  StatusGate(long retentionMillis) {
    this.retentionMillis = retentionMillis;
  }

  @Override
  public void open(OpenContext openContext) {
    lastVersion =
        getRuntimeContext().getState(new ValueStateDescriptor<>("last-version", Types.LONG));
  }

  @Override
  public void processElement(RenderStatus s, Context ctx, Collector<RenderStatus> out)
      throws Exception {
    Long last = lastVersion.value();
    if (last != null && s.getVersion() <= last) {
      return;
    }
    lastVersion.update(s.getVersion());
    out.collect(s);
    RenderState st = s.getState();
    if (st == RenderState.SUCCEEDED
        || st == RenderState.FAILED
        || st == RenderState.CANCELLED
        || st == RenderState.EXPIRED) {
      ctx.timerService()
          .registerProcessingTimeTimer(
              ctx.timerService().currentProcessingTime() + retentionMillis);
    }
  }

  @Override
  public void onTimer(long ts, OnTimerContext ctx, Collector<RenderStatus> out) {
    lastVersion.clear();
  }
}
