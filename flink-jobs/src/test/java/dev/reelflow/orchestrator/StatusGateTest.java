package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import java.time.Instant;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class StatusGateTest {

  static RenderStatus status(String id, RenderState state, long version) {
    return RenderStatus.newBuilder()
        .setRequestId(id)
        .setTenant("demo")
        .setState(state)
        .setVersion(version)
        .setCreatedAt(Instant.EPOCH)
        .setUpdatedAt(Instant.EPOCH)
        .build();
  }

  @Test
  void dropsStatusesOlderThanTheLastWritten() throws Exception {
    var h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new StatusGate(60_000)),
            RenderStatus::getRequestId,
            Types.STRING);
    h.open();
    long queued = 2L << RenderLifecycle.VERSION_SHIFT;
    h.processElement(new StreamRecord<>(status("r", RenderState.QUEUED, queued)));
    h.processElement(new StreamRecord<>(status("r", RenderState.QUEUED, queued + 1)));
    h.processElement(new StreamRecord<>(status("r", RenderState.CANCELLED, 3L << 20)));
    // A queue-position update that raced the cancellation arrives last: dropped.
    h.processElement(new StreamRecord<>(status("r", RenderState.QUEUED, queued + 2)));
    h.processElement(new StreamRecord<>(status("other", RenderState.QUEUED, queued)));
    assertThat(h.extractOutputValues())
        .extracting(s -> s.getRequestId() + ":" + s.getState() + ":" + s.getVersion())
        .containsExactly(
            "r:QUEUED:" + queued,
            "r:QUEUED:" + (queued + 1),
            "r:CANCELLED:" + (3L << 20),
            "other:QUEUED:" + queued);
    h.close();
  }
}
