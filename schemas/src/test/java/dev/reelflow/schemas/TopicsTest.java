package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderTask;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicsTest {

  @Test
  void defaultsOfTheCatalogue() {
    Topics t = Topics.defaults();
    assertThat(t.names())
        .containsExactly(
            "render.requests",
            "render.commands",
            "render.tasks.base",
            "render.tasks.upscale",
            "render.stage-events",
            "render.worker-events",
            "render.status",
            "render.lineage",
            "render.dlq",
            "render.schedules");
    assertThat(t.partitions(Topic.REQUESTS)).isEqualTo(6);
    assertThat(t.partitions(Topic.COMMANDS)).isEqualTo(3);
    assertThat(t.partitions(Topic.TASKS_BASE)).isEqualTo(16);
    assertThat(t.partitions(Topic.TASKS_UPSCALE)).isEqualTo(16);
    assertThat(t.partitions(Topic.STAGE_EVENTS)).isEqualTo(6);
    assertThat(t.partitions(Topic.WORKER_EVENTS)).isEqualTo(3);
    assertThat(t.partitions(Topic.STATUS)).isEqualTo(6);
    assertThat(t.partitions(Topic.LINEAGE)).isEqualTo(3);
    assertThat(t.partitions(Topic.DLQ)).isEqualTo(1);
    assertThat(t.partitions(Topic.SCHEDULES)).isEqualTo(1);
  }

  @Test
  void compactedTopicsHaveNoTimeRetention() {
    for (Topic topic : Topic.values()) {
      Map<String, String> configs = Topics.defaults().spec(topic).configs();
      boolean compacted = topic == Topic.STATUS || topic == Topic.SCHEDULES;
      assertThat(topic.compacted()).isEqualTo(compacted);
      assertThat(configs.get("cleanup.policy")).isEqualTo(compacted ? "compact" : "delete");
      assertThat(configs.containsKey("retention.ms")).isEqualTo(!compacted);
    }
  }

  @Test
  void constantsMatchTheEnum() {
    assertThat(Topics.TASKS_BASE).isEqualTo(Topic.TASKS_BASE.topicName());
    assertThat(Topics.STATUS).isEqualTo(Topic.STATUS.topicName());
    assertThat(Topics.DLQ).isEqualTo(Topic.DLQ.topicName());
    assertThat(Topic.byName("render.worker-events")).isEqualTo(Topic.WORKER_EVENTS);
    assertThatThrownBy(() -> Topic.byName("render.nope")).hasMessageContaining("render.requests");
  }

  @Test
  void valueTypesAndSubjects() {
    assertThat(Topic.TASKS_UPSCALE.valueClass()).contains(RenderTask.class);
    assertThat(Topic.DLQ.valueSchema()).contains(DeadLetter.getClassSchema());
    assertThat(Topic.LINEAGE.valueClass()).isEmpty();
    assertThat(Topic.STATUS.valueSubject()).isEqualTo("render.status-value");
  }

  @Test
  void partitionOverridesFromCodeAndProperties() {
    Topics t = Topics.builder().partitions(Topic.TASKS_BASE, 32).build();
    assertThat(t.partitions(Topic.TASKS_BASE)).isEqualTo(32);
    assertThat(t.partitions(Topic.TASKS_UPSCALE)).isEqualTo(16);

    Topics p =
        Topics.fromProperties(
            Map.of(
                "reelflow.topics.partitions.render.tasks.upscale", "4",
                "reelflow.other", "x"));
    assertThat(p.partitions(Topic.TASKS_UPSCALE)).isEqualTo(4);
    assertThat(p.partitions(Topic.REQUESTS)).isEqualTo(6);
    assertThatThrownBy(
            () -> Topics.fromProperties(Map.of("reelflow.topics.partitions.render.dlq", "two")))
        .hasMessageContaining("positive integer");
    assertThatThrownBy(() -> Topics.builder().partitions(Topic.DLQ, 0))
        .hasMessageContaining("render.dlq");
    assertThatThrownBy(
            () -> Topics.fromProperties(Map.of("reelflow.topics.partitions.render.x", "2")))
        .hasMessageContaining("unknown topic");
  }
}
