package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

class OrchestratorJobTest {

  @Test
  void everyOperatorHasAStableUid() {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    OrchestratorJob.builder()
        .config(OrchestratorConfig.builder().stateBackend("hashmap").build())
        .codec(InboundDeserializerTest.FAKE)
        .checkBroker(false)
        .recoverFromTopics(false)
        .build()
        .buildPipeline(env);
    StreamGraph graph = env.getStreamGraph();
    List<String> uids =
        graph.getStreamNodes().stream()
            .map(StreamNode::getTransformationUID)
            .collect(Collectors.toList());
    assertThat(uids)
        .contains(
            "kafka-inputs",
            "route-inputs",
            "schedule-trigger",
            "render-lifecycle",
            "dispatch-scheduler",
            "status-gate");
    // Sinks expand into writer/committer nodes whose uids derive from the sink's uid.
    assertThat(String.join(",", uids.stream().map(String::valueOf).toList()))
        .contains("tasks-sink", "status-sink", "lineage-sink", "dlq-sink");
    for (StreamNode n : graph.getStreamNodes()) {
      if (!n.getOperatorName().contains("Committer")
          && !n.getOperatorName().contains("Writer")
          && !n.getOperatorName().contains("Sink")) {
        assertThat(n.getTransformationUID()).as(n.getOperatorName()).isNotNull();
      }
    }
  }

  @Test
  void stateAndMessageTypesAreFlinkPojosNotKryo() {
    for (Class<?> c :
        List.of(
            Inbound.class,
            RecoveredRender.class,
            PoolInput.class,
            PoolCommand.class,
            TaskDispatch.class,
            LineageRecord.class,
            RenderRecord.class,
            QueuedTask.class,
            WorkerSlot.class,
            SchedulerMeta.class,
            ScheduleState.class)) {
      TypeInformation<?> t = TypeInformation.of(c);
      assertThat(t).as(c.getSimpleName()).isInstanceOf(PojoTypeInfo.class);
      PojoTypeInfo<?> p = (PojoTypeInfo<?>) t;
      for (int i = 0; i < p.getArity(); i++) {
        String field = p.getPojoFieldAt(i).getField().getName();
        String type = p.getPojoFieldAt(i).getTypeInformation().getClass().getSimpleName();
        if (p.getPojoFieldAt(i)
                .getField()
                .getType()
                .getName()
                .startsWith("dev.reelflow.schemas.avro")
            && !p.getPojoFieldAt(i).getField().getType().isEnum()) {
          assertThat(type).as(c.getSimpleName() + "." + field).isEqualTo("AvroTypeInfo");
        }
      }
    }
  }
}
