package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaClusterProcessesTest {
  @TempDir Path dir;

  @Test
  void threeNodesShareOneStaticQuorumWithReplicationThreeAndMinIsrTwo() {
    KafkaClusterProcesses cluster = KafkaClusterProcesses.builder(dir).brokers(3).build();
    Map<String, String> n1 = cluster.properties(0);
    Map<String, String> n3 = cluster.properties(2);

    assertThat(n1.get("node.id")).isEqualTo("1");
    assertThat(n3.get("node.id")).isEqualTo("3");
    assertThat(n1.get("controller.quorum.voters"))
        .isEqualTo(n3.get("controller.quorum.voters"))
        .matches("1@127\\.0\\.0\\.1:\\d+,2@127\\.0\\.0\\.1:\\d+,3@127\\.0\\.0\\.1:\\d+");
    assertThat(n1.get("process.roles")).isEqualTo("broker,controller");
    for (String key :
        new String[] {
          "default.replication.factor",
          "offsets.topic.replication.factor",
          "transaction.state.log.replication.factor"
        }) {
      assertThat(n1.get(key)).as(key).isEqualTo("3");
    }
    assertThat(n1.get("min.insync.replicas")).isEqualTo("2");
    assertThat(n1.get("transaction.state.log.min.isr")).isEqualTo("2");
    assertThat(n1.get("log.dirs")).isNotEqualTo(n3.get("log.dirs"));
    assertThat(n1.get("listeners")).isNotEqualTo(n3.get("listeners"));
    assertThat(cluster.bootstrapServers().split(",")).hasSize(3).doesNotHaveDuplicates();
  }

  @Test
  void aSingleNodeClusterLowersReplicationToOne() {
    Map<String, String> p = KafkaClusterProcesses.builder(dir).brokers(1).build().properties(0);
    assertThat(p.get("default.replication.factor")).isEqualTo("1");
    assertThat(p.get("min.insync.replicas")).isEqualTo("1");
  }

  @Test
  void overridesWinAndBadOptionsAreRefused() {
    Map<String, String> p =
        KafkaClusterProcesses.builder(dir)
            .property("log.retention.ms", "1000")
            .property("min.insync.replicas", "3")
            .build()
            .properties(1);
    assertThat(p.get("log.retention.ms")).isEqualTo("1000");
    assertThat(p.get("min.insync.replicas")).isEqualTo("3");
    assertThatThrownBy(() -> KafkaClusterProcesses.builder(dir).brokers(0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KafkaClusterProcesses.builder(dir).build().killBroker(4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1..3");
  }

  @Test
  void stoppingWithoutARecordedClusterSaysWhatIsMissing() {
    assertThatThrownBy(() -> KafkaClusterProcesses.stopRecorded(dir))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("cluster.properties");
  }
}
