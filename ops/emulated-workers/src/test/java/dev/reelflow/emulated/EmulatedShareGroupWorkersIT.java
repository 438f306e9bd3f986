package dev.reelflow.emulated;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
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
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The share-group workers of {@code reelflow bench sharegroup} really consume and acknowledge: 20
 * tasks on three EMULATED share-group workers each run exactly once, and every acknowledgement is
 * accepted.
 */
class EmulatedShareGroupWorkersIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().kafka().registry().build();

  @Test
  void everyTaskRunsExactlyOnceAndIsAcknowledged() throws Exception {
    String bootstrap = STACK.stack().bootstrapServers();
    String registry = STACK.stack().schemaRegistryUrl();
    String topic = "share-it.tasks";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
      EmulatedShareGroupWorkers.startFromEarliest(admin, "share-it");
    }
    try (EmulatedShareGroupWorkers workers =
            EmulatedShareGroupWorkers.builder()
                .bootstrapServers(bootstrap)
                .registryUrl(registry)
                .topic(topic)
                .group("share-it")
                .workers(3)
                .taskMillis(50)
                .build();
        KafkaProducer<String, RenderTask> producer =
            new KafkaProducer<>(
                Map.of("bootstrap.servers", bootstrap),
                new StringSerializer(),
                AvroRecordSerializer.<RenderTask>builder()
                    .client(SchemaRegistryClient.create(registry))
                    .build())) {
      Set<String> ids = new HashSet<>();
      for (int i = 0; i < 20; i++) {
        RenderTask t = EmulatedShareGroupWorkers.baseTask("it-" + i, "demo", 5);
        producer.send(new ProducerRecord<>(topic, t.getRequestId(), t));
        ids.add(t.getTaskId());
      }
      producer.flush();
      long until = System.currentTimeMillis() + 20_000;
      while (workers.completed() < 20 && System.currentTimeMillis() < until) {
        workers.check();
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
      Map<String, Integer> runs = workers.completedById();
      assertEquals(ids, runs.keySet());
      assertTrue(runs.values().stream().allMatch(n -> n == 1), "each task ran once: " + runs);
      assertEquals(20, workers.completed());
      assertEquals(0, workers.expiredSkipped());
      assertEquals(0, workers.ackFailures());
      assertTrue(workers.started().stream().allMatch(s -> s.deliveryCount() == 1));
    }
  }
}
