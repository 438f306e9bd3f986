package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrchestratorConfigTest {

  @Test
  void defaults() {
    OrchestratorConfig c = OrchestratorConfig.defaults();
    assertThat(c.lease()).isEqualTo(Duration.ofSeconds(4));
    assertThat(c.taskDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    assertThat(c.eventDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
    assertThat(c.stateBackend()).isEqualTo("rocksdb");
    assertThat(c.exactPositions()).isEqualTo(1000);
    assertThat(c.describe()).contains("kafka.bootstrap.servers = localhost:9092");
  }

  @Test
  void environmentOverridesTheFile(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("orchestrator.properties");
    Files.writeString(f, "task.lease=45s\nstate.backend=hashmap\nretry.max-attempts=5\n");
    OrchestratorConfig c =
        OrchestratorConfig.load(
            f, Map.of("REELFLOW_TASK_LEASE", "PT1M", "REELFLOW_DELIVERY_TASKS", "exactly-once"));
    assertThat(c.lease()).isEqualTo(Duration.ofMinutes(1));
    assertThat(c.stateBackend()).isEqualTo("hashmap");
    assertThat(c.retry().maxAttempts()).isEqualTo(5);
    assertThat(c.taskDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
    assertThat(OrchestratorConfig.envName("scheduler.drr-quantum"))
        .isEqualTo("REELFLOW_SCHEDULER_DRR_QUANTUM");
  }

  @Test
  void badValuesNameTheKey() {
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("task.leese", "1s"))
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining("task.leese");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("task.lease", "soon").build())
        .hasMessageContaining("task.lease");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("task.lease", "2d").build())
        .hasMessageContaining("task.lease must be at most 24h");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("state.backend", "memory").build())
        .hasMessageContaining("rocksdb or hashmap");
    assertThatThrownBy(
            () ->
                OrchestratorConfig.builder()
                    .checkpointInterval(Duration.ofMinutes(10))
                    .transactionTimeout(Duration.ofMinutes(15))
                    .build())
        .hasMessageContaining("at least twice");
    // Exactly-once task records wait for a checkpoint; the (short, default) lease must cover it.
    assertThatThrownBy(
            () ->
                OrchestratorConfig.builder()
                    .taskDelivery(DeliveryGuarantee.EXACTLY_ONCE)
                    .checkpointInterval(Duration.ofSeconds(10))
                    .build())
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining("task.lease (PT4S) must be more than twice checkpoint.interval");
  }

  @Test
  void backoffGrowsExponentiallyUpToTheCap() {
    OrchestratorConfig.RetryPolicy p = new OrchestratorConfig.RetryPolicy(10, 1000, 5000, 2.0);
    assertThat(p.backoffMillis(2)).isEqualTo(1000);
    assertThat(p.backoffMillis(3)).isEqualTo(2000);
    assertThat(p.backoffMillis(4)).isEqualTo(4000);
    assertThat(p.backoffMillis(5)).isEqualTo(5000);
  }
}
