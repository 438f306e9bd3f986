package dev.reelflow.orchestrator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.reelflow.stack.LocalStackExtension;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The share-group path of {@link ShareGroupBenchmark} really consumes and acknowledges: 20 tasks on
 * three EMULATED share-group workers each run exactly once, and every acknowledgement is accepted.
 */
class ShareGroupWorkersIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().kafka().registry().build();

  @Test
  void everyTaskRunsExactlyOnceAndIsAcknowledged() throws Exception {
    String bootstrap = STACK.stack().bootstrapServers();
    String topic = "share-it.tasks";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
      ShareGroupBenchmark.startFromEarliest(admin, "share-it");
    }
    RecordCodec codec = new RegistryRecordCodec(STACK.stack().schemaRegistryUrl());
    codec.open();
    try (ShareGroupWorkers workers =
            new ShareGroupWorkers(bootstrap, codec, topic, "share-it", 3, 1, "record_limit", 50);
        KafkaProducer<byte[], byte[]> producer = ShareGroupBenchmark.producer(bootstrap)) {
      Set<String> ids = new HashSet<>();
      for (int i = 0; i < 20; i++) {
        ids.add(
            ShareGroupBenchmark.produce(producer, codec, topic, "it-" + i, "demo", 5).getTaskId());
      }
      producer.flush();
      long until = System.currentTimeMillis() + 20_000;
      while (workers.completed.get() < 20 && System.currentTimeMillis() < until) {
        Thread.sleep(50);
      }
      // First the broker's word that nothing is left unacknowledged in the group (share-group lag
      // 0 in both partitions): no record can be delivered again after that, so the counts below
      // are final. Its start offsets are not checked: they are persisted lazily.
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        Map<?, SharePartitionOffsetInfo> offsets = Map.of();
        until = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < until) {
          offsets =
              admin
                  .listShareGroupOffsets(Map.of("share-it", new ListShareGroupOffsetsSpec()))
                  .partitionsToOffsetInfo("share-it")
                  .get();
          if (offsets.size() == 2
              && offsets.values().stream().allMatch(o -> o != null && o.lag().orElse(-1L) == 0)) {
            break;
          }
          Thread.sleep(100);
        }
        assertEquals(2, offsets.size(), offsets.toString());
        assertTrue(
            offsets.values().stream().allMatch(o -> o != null && o.lag().orElse(-1L) == 0),
            offsets.toString());
      }
      assertEquals(ids, workers.completedById.keySet());
      assertTrue(
          workers.completedById.values().stream().allMatch(n -> n.get() == 1),
          "each task ran once: " + workers.completedById);
      assertEquals(20, workers.completed.get());
      assertEquals(0, workers.expiredSkipped.get());
      assertEquals(0, workers.ackFailures.get());
      assertTrue(workers.started.stream().allMatch(s -> s.deliveryCount() == 1));
    }
  }
}
