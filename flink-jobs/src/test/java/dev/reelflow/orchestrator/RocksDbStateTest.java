package dev.reelflow.orchestrator;

import static dev.reelflow.orchestrator.Fixtures.T0;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEventType;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The default state backend (RocksDB) copies state on every read and write, unlike the heap
 * backend: a mutation that is not written back, or a state type Flink cannot serialize, shows up
 * only here.
 */
class RocksDbStateTest {
  static final long START = T0.toEpochMilli();

  @Test
  void lifecycleAndSchedulerKeepTheirStateInRocksDb() throws Exception {
    var life =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(
                new RenderLifecycle(
                    30_000,
                    new OrchestratorConfig.RetryPolicy(3, 1_000, 10_000, 2.0),
                    86_400_000L,
                    "reelflow")),
            Inbound::requestId,
            Types.STRING);
    life.setStateBackend(new EmbeddedRocksDBStateBackend());
    life.setProcessingTime(START);
    life.open();
    life.processElement(new StreamRecord<>(Inbound.of(Fixtures.request("r-1"))));
    life.processElement(
        new StreamRecord<>(
            Inbound.of(Fixtures.event("r-1", Stage.BASE, 1, StageEventType.STARTED, "w1"))));
    life.processElement(
        new StreamRecord<>(Inbound.of(Fixtures.completed("r-1", Stage.BASE, 1, "w1"))));
    List<RenderStatus> out = life.extractOutputValues();
    assertThat(out.get(out.size() - 1).getState()).isEqualTo(RenderState.QUEUED);
    assertThat(out.get(out.size() - 1).getStage()).isEqualTo(Stage.UPSCALE);
    PoolCommand up = life.getSideOutput(RenderLifecycle.POOL).stream().toList().get(1).getValue();
    assertThat(up.task.getInputs()).hasSize(3);
    life.close();

    var sched =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new DispatchScheduler(30_000, 5_000, 1000, 1, 60_000)),
            PoolInput::pool,
            Types.STRING);
    sched.setStateBackend(new EmbeddedRocksDBStateBackend());
    sched.setProcessingTime(START);
    sched.open();
    sched.processElement(
        new StreamRecord<>(PoolInput.of(DispatchSchedulerTest.enqueue("a", "t1", 5, null))));
    sched.processElement(
        new StreamRecord<>(PoolInput.of(DispatchSchedulerTest.enqueue("b", "t2", 5, null))));
    sched.processElement(
        new StreamRecord<>(
            PoolInput.of(Fixtures.ready("w1", Stage.BASE, 1, List.of(0), List.of()))));
    // A stale READY must not release a second task: the pending release was written back.
    sched.processElement(
        new StreamRecord<>(
            PoolInput.of(Fixtures.ready("w1", Stage.BASE, 1, List.of(0), List.of()))));
    assertThat(sched.extractOutputValues()).hasSize(1);
    OperatorSubtaskState snap = sched.snapshot(1, START);
    sched.close();

    var restored =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new DispatchScheduler(30_000, 5_000, 1000, 1, 60_000)),
            PoolInput::pool,
            Types.STRING);
    restored.setStateBackend(new EmbeddedRocksDBStateBackend());
    restored.setProcessingTime(START);
    restored.setup();
    restored.initializeState(snap);
    restored.open();
    restored.processElement(
        new StreamRecord<>(
            PoolInput.of(Fixtures.ready("w2", Stage.BASE, 1, List.of(1), List.of()))));
    assertThat(restored.extractOutputValues()).extracting(d -> d.task.getRequestId()).hasSize(1);
    restored.close();
  }
}
