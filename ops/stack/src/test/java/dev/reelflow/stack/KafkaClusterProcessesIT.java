package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three broker JVMs: a topic gets three replicas, acks=all writes keep working with one broker
 * killed (min.insync.replicas 2), and closing the cluster leaves no process behind. Slow (three JVM
 * starts): behind {@code -Pslow}.
 */
@EnabledIfSystemProperty(named = "reelflow.slow", matches = "true")
class KafkaClusterProcessesIT {
  @TempDir Path dir;

  @Test
  void writesSurviveOneKilledBrokerAndCloseStopsEveryNode() throws Exception {
    long[] pids = new long[3];
    try (KafkaClusterProcesses cluster =
        KafkaClusterProcesses.builder(dir).brokers(3).build().start()) {
      for (int n = 1; n <= 3; n++) {
        pids[n - 1] = cluster.pid(n);
        assertThat(pids[n - 1]).isPositive();
      }
      Map<String, Object> admin =
          Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
      try (Admin a = Admin.create(admin)) {
        a.createTopics(List.of(new NewTopic("t", 3, (short) 3))).all().get(60, TimeUnit.SECONDS);
        TopicDescription d = a.describeTopics(List.of("t")).allTopicNames().get().get("t");
        d.partitions().forEach(p -> assertThat(p.replicas()).hasSize(3));
      }
      Map<String, Object> conf =
          Map.of(
              ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
              cluster.bootstrapServers(),
              ProducerConfig.ACKS_CONFIG,
              "all",
              ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
              60_000,
              ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
              10_000);
      try (KafkaProducer<String, String> p =
          new KafkaProducer<>(conf, new StringSerializer(), new StringSerializer())) {
        for (int i = 0; i < 6; i++) {
          p.send(new ProducerRecord<>("t", "k" + i, "before")).get(60, TimeUnit.SECONDS);
        }
        cluster.killBroker(2);
        assertThat(cluster.isRunning(2)).isFalse();
        for (int i = 0; i < 6; i++) {
          p.send(new ProducerRecord<>("t", "k" + i, "after")).get(60, TimeUnit.SECONDS);
        }
      }
      assertThat(KafkaClusterProcesses.readState(dir).getProperty("bootstrap.servers"))
          .isEqualTo(cluster.bootstrapServers());
    }
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEmpty();
    }
    assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList())
        .isEmpty();
  }
}
