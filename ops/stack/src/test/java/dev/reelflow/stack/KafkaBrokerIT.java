package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaBrokerIT {
  @TempDir static Path workDir;
  static KafkaBroker broker;

  @BeforeAll
  static void start() {
    broker = KafkaBroker.builder(workDir).build();
    broker.start();
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  @Test
  void producesAndConsumesRoundTrip() throws Exception {
    createTopic("round-trip", 2);
    try (KafkaProducer<String, String> producer = producer(Map.of())) {
      for (int i = 0; i < 10; i++) {
        producer.send(new ProducerRecord<>("round-trip", "k" + i, "v" + i)).get();
      }
    }
    List<ConsumerRecord<String, String>> got = readAll("round-trip", "read_uncommitted", 10);
    assertThat(got).extracting(ConsumerRecord::value).containsExactlyInAnyOrder(values(10));
  }

  @Test
  void transactionalWritesAreVisibleToReadCommittedOnlyAfterCommit() throws Exception {
    createTopic("tx", 1);
    try (KafkaProducer<String, String> producer =
        producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-test"))) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>("tx", "a", "aborted"));
      producer.abortTransaction();
      producer.beginTransaction();
      for (int i = 0; i < 3; i++) {
        producer.send(new ProducerRecord<>("tx", "k" + i, "v" + i));
      }
      producer.commitTransaction();
    }
    List<ConsumerRecord<String, String>> got = readAll("tx", "read_committed", 3);
    assertThat(got).extracting(ConsumerRecord::value).containsExactly(values(3));
  }

  @Test
  void shareGroupsAreEnabled() throws Exception {
    // Kafka 4.2 finalizes share.version 1 when storage is formatted at the latest production
    // metadata version, which is what turns share groups (KIP-932) on; group.share.enable and
    // group.coordinator.rebalance.protocols are left alone. A pinned older release version would
    // silently turn them off again, which this catches.
    try (Admin admin = admin()) {
      assertThat(
              admin
                  .describeFeatures()
                  .featureMetadata()
                  .get()
                  .finalizedFeatures()
                  .get("share.version")
                  .maxVersionLevel())
          .isGreaterThanOrEqualTo((short) 1);
    }
  }

  @Test
  void automaticTopicCreationIsOff() {
    try (KafkaProducer<String, String> producer =
        producer(Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, "1500"))) {
      var future = producer.send(new ProducerRecord<>("no-such-topic", "k", "v"));
      assertThat(future)
          .failsWithin(Duration.ofSeconds(10))
          .withThrowableOfType(ExecutionException.class)
          .satisfies(e -> assertThat(e.getCause()).isNotNull());
    }
    try (Admin admin = admin()) {
      assertThat(admin.listTopics().names())
          .succeedsWithin(Duration.ofSeconds(10))
          .satisfies(names -> assertThat(names).doesNotContain("no-such-topic"));
    }
  }

  @Test
  void restartOnTheSameWorkDirKeepsTopicsAndData() throws Exception {
    createTopic("durable", 1);
    try (KafkaProducer<String, String> producer = producer(Map.of())) {
      producer.send(new ProducerRecord<>("durable", "k", "before-restart")).get();
    }
    String clusterId = broker.clusterId();
    broker.stop();
    assertThat(broker.isRunning()).isFalse();
    broker.start();
    assertThat(broker.clusterId()).isEqualTo(clusterId);
    List<ConsumerRecord<String, String>> got = readAll("durable", "read_uncommitted", 1);
    assertThat(got).extracting(ConsumerRecord::value).containsExactly("before-restart");
  }

  static String[] values(int n) {
    String[] v = new String[n];
    for (int i = 0; i < n; i++) {
      v[i] = "v" + i;
    }
    return v;
  }

  static void createTopic(String name, int partitions) throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
    }
  }

  static Admin admin() {
    return Admin.create(
        Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
  }

  static KafkaProducer<String, String> producer(Map<String, String> extra) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.putAll(extra);
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  static List<ConsumerRecord<String, String>> readAll(String topic, String isolation, int expected)
      throws UnknownTopicOrPartitionException {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(10)).stream()
              .map(info -> new TopicPartition(topic, info.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (out.size() < expected && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      // One more short poll: a wrong broker would deliver extra (e.g. aborted) records here.
      consumer.poll(Duration.ofMillis(300)).forEach(out::add);
      assertThat(Set.copyOf(partitions)).isNotEmpty();
    }
    return out;
  }
}
