package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.stack.LocalStackExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The hang report names what pins a last stable offset: a transaction left open on a partition
 * shows as LSO behind the high watermark, its producer with the offset the transaction began at,
 * and the transaction as ONGOING under its transactional id; once it commits, nothing is reported.
 */
class TransactionStateReportIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().kafka().build();

  @Test
  void namesTheOpenTransactionThatHoldsTheLastStableOffset() throws Exception {
    String bootstrap = STACK.stack().bootstrapServers();
    String topic = "report-pinned";
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      admin
          .createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                ProducerConfig.TRANSACTIONAL_ID_CONFIG,
                "report-open-tx"),
            new StringSerializer(),
            new StringSerializer())) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "committed")).get();
      producer.commitTransaction(); // offset 0 and its commit marker at 1
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "k", "held open")).get(); // offset 2

      String open = TransactionStateReport.of(bootstrap, List.of(topic), null);
      assertThat(open)
          .contains(topic + "-0 HW 3 LSO 2  <-- LSO trails by 1")
          .contains("open transaction from offset 2")
          .contains("report-open-tx ONGOING")
          .contains("[" + topic + "-0]");

      producer.commitTransaction();
    }
    // The markers are written after the commit returns: wait for the coordinator to settle.
    String settled =
        Await.until(
            Duration.ofSeconds(30),
            "the committed transaction to settle",
            () ->
                Optional.of(TransactionStateReport.of(bootstrap, List.of(topic), null))
                    .filter(r -> r.contains("no partition has its LSO behind")));
    assertThat(settled)
        .contains("no partition has its LSO behind its high watermark")
        .doesNotContain("report-open-tx ONGOING");
  }
}
