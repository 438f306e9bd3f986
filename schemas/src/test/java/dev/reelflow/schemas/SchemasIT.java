package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.registry.SchemaRegistryClient.RegisteredSchema;
import dev.reelflow.schemas.registry.SchemaRegistryConfig;
import dev.reelflow.schemas.registry.SchemaRegistryException;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import dev.reelflow.schemas.serde.UnreadableRecordException;
import dev.reelflow.schemas.serde.WireFormat;
import dev.reelflow.stack.LocalStackExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Topic provisioning, the registry client, schema provisioning and the serdes against the stack's
 * broker and registry server: one stack for the whole class, because starting one costs more than
 * the tests. Each test makes the topics it needs (or removes them) itself, so any one runs alone.
 */
class SchemasIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().kafka().registry().build();

  private static final Schema V1 =
      SchemaBuilder.record("Probe").namespace("it").fields().requiredString("a").endRecord();
  private static final Schema V2 =
      SchemaBuilder.record("Probe")
          .namespace("it")
          .fields()
          .requiredString("a")
          .name("b")
          .type()
          .intType()
          .intDefault(7)
          .endRecord();
  private static final Schema V3_INCOMPATIBLE =
      SchemaBuilder.record("Probe")
          .namespace("it")
          .fields()
          .requiredString("a")
          .requiredLong("c")
          .endRecord();

  static SchemaRegistryClient client;

  @BeforeAll
  static void connect() {
    client = SchemaRegistryClient.create(STACK.stack().schemaRegistryUrl());
  }

  @Nested
  class TopicProvisioning {
    @Test
    void createsEveryTopicOnceAndVerifiesOnTheSecondRun() throws Exception {
      deleteTheCataloguesTopics(); // a broker without the ReelFlow topics, whatever ran before
      TopicProvisioner provisioner =
          TopicProvisioner.builder().bootstrapServers(STACK.stack().bootstrapServers()).build();
      TopicProvisioner.Result first = provisioner.provision();
      assertThat(first.created()).containsExactlyInAnyOrderElementsOf(Topics.defaults().names());
      assertThat(first.existing()).isEmpty();
      awaitServed();

      TopicProvisioner.Result second = provisioner.provision();
      assertThat(second.created()).isEmpty();
      assertThat(second.existing()).containsExactlyInAnyOrderElementsOf(Topics.defaults().names());
      assertThat(second.warnings()).isEmpty();

      try (Admin admin = admin()) {
        Map<String, TopicDescription> d =
            admin.describeTopics(Topics.defaults().names()).allTopicNames().get();
        for (Topics.Spec spec : Topics.defaults().specs()) {
          assertThat(d.get(spec.name()).partitions()).as(spec.name()).hasSize(spec.partitions());
          assertThat(d.get(spec.name()).partitions().get(0).replicas())
              .as("replication factor min(3, 1 broker)")
              .hasSize(1);
        }
        ConfigResource status = new ConfigResource(ConfigResource.Type.TOPIC, Topics.STATUS);
        ConfigResource dlq = new ConfigResource(ConfigResource.Type.TOPIC, Topics.DLQ);
        Map<ConfigResource, Config> configs =
            admin.describeConfigs(List.of(status, dlq)).all().get();
        assertThat(configs.get(status).get("cleanup.policy").value()).isEqualTo("compact");
        assertThat(configs.get(dlq).get("cleanup.policy").value()).isEqualTo("delete");
        assertThat(configs.get(dlq).get("retention.ms").value())
            .isEqualTo(Long.toString(Topic.DLQ.retention().orElseThrow().toMillis()));
      }
    }

    @Test
    void warnsWhenAnExistingTopicDiffersAndLeavesItAlone() throws Exception {
      // The catalogue's topics exist as provisioned (3 partitions for render.commands).
      TopicProvisioner.builder()
          .bootstrapServers(STACK.stack().bootstrapServers())
          .build()
          .provision();
      awaitServed();
      TopicProvisioner.Result result =
          TopicProvisioner.builder()
              .bootstrapServers(STACK.stack().bootstrapServers())
              .topics(Topics.builder().partitions(Topic.COMMANDS, 5).build())
              .build()
              .provision();
      assertThat(result.created()).isEmpty();
      assertThat(result.warnings())
          .containsExactly("render.commands has 3 partitions, the catalogue says 5 (left as is)");
      try (Admin admin = admin()) {
        assertThat(
                admin
                    .describeTopics(List.of(Topics.COMMANDS))
                    .allTopicNames()
                    .get()
                    .get(Topics.COMMANDS)
                    .partitions())
            .hasSize(3);
      }
    }

    @Test
    void refusesAReplicationFactorAboveTheBrokerCount() {
      TopicProvisioner tooMany =
          TopicProvisioner.builder()
              .bootstrapServers(STACK.stack().bootstrapServers())
              .replicationFactor(3)
              .build();
      assertThatThrownBy(tooMany::provision).hasMessageContaining("1 broker");
    }

    /** Deletes the catalogue's topics that exist and waits until the broker lists none of them. */
    private void deleteTheCataloguesTopics() throws Exception {
      try (Admin admin = admin()) {
        Set<String> existing = new HashSet<>(admin.listTopics().names().get());
        existing.retainAll(Topics.defaults().names());
        if (!existing.isEmpty()) {
          admin.deleteTopics(existing).all().get();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Collections.disjoint(admin.listTopics().names().get(), Topics.defaults().names())) {
          assertThat(System.nanoTime()).as("topics %s deleted", existing).isLessThan(deadline);
          Thread.sleep(50);
        }
      }
    }

    /**
     * Waits until the broker describes every catalogue topic with a leader for each partition: a
     * topic re-created right after its deletion is briefly unknown to describe calls.
     */
    private void awaitServed() throws Exception {
      try (Admin admin = admin()) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
          try {
            if (admin
                .describeTopics(Topics.defaults().names())
                .allTopicNames()
                .get()
                .values()
                .stream()
                .flatMap(d -> d.partitions().stream())
                .allMatch(p -> p.leader() != null)) {
              return;
            }
          } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(UnknownTopicOrPartitionException.class);
          }
          assertThat(System.nanoTime()).as("catalogue topics served").isLessThan(deadline);
          Thread.sleep(50);
        }
      }
    }

    private Admin admin() {
      return Admin.create(
          Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, STACK.stack().bootstrapServers()));
    }
  }

  @Nested
  class RegistryAndSerdes {
    @BeforeEach
    void topicsExist() {
      TopicProvisioner.builder()
          .bootstrapServers(STACK.stack().bootstrapServers())
          .build()
          .provision();
    }

    @Test
    void clientSpeaksTheRegistryServersApi() {
      int id1 = client.register("probe-value", V1);
      int id2 = client.register("probe-value", V2);
      assertThat(id2).isNotEqualTo(id1);
      SchemaRegistryClient fresh = SchemaRegistryClient.create(STACK.stack().schemaRegistryUrl());
      assertThat(fresh.register("probe-value", V1)).isEqualTo(id1);
      assertThat(fresh.getById(id2)).isEqualTo(V2);
      RegisteredSchema latest = fresh.latest("probe-value");
      assertThat(latest.version()).isEqualTo(2);
      assertThat(latest.id()).isEqualTo(id2);
      assertThat(fresh.getBySubjectVersion("probe-value", 1).schema()).isEqualTo(V1);
      assertThat(fresh.lookup("probe-value", V2).version()).isEqualTo(2);
      assertThat(fresh.versions("probe-value")).containsExactly(1, 2);
      assertThat(fresh.subjects()).contains("probe-value");
      assertThat(fresh.testCompatibility("probe-value", V3_INCOMPATIBLE)).isFalse();
      assertThat(fresh.getConfig()).isEqualTo("BACKWARD");
      assertThat(fresh.putConfig("probe-value", "NONE")).isEqualTo("NONE");
      assertThat(fresh.getConfig("probe-value")).isEqualTo("NONE");
      assertThat(fresh.putConfig("probe-value", "BACKWARD")).isEqualTo("BACKWARD");
    }

    @Test
    void fourHundredsCarryConfluentErrorCodes() {
      client.register("probe4-value", V1);
      assertThatThrownBy(() -> client.register("probe4-value", V3_INCOMPATIBLE))
          .isInstanceOfSatisfying(
              SchemaRegistryException.class,
              e -> {
                assertThat(e.status()).isEqualTo(409);
                assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.INCOMPATIBLE_SCHEMA);
              });
      assertThatThrownBy(() -> client.latest("no-such-subject"))
          .isInstanceOfSatisfying(
              SchemaRegistryException.class,
              e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SUBJECT_NOT_FOUND));
      assertThatThrownBy(() -> client.getById(987_654))
          .isInstanceOfSatisfying(
              SchemaRegistryException.class,
              e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.SCHEMA_NOT_FOUND));
      assertThatThrownBy(() -> client.lookup("probe4-value", V2))
          .isInstanceOfSatisfying(
              SchemaRegistryException.class, e -> assertThat(e.isNotFound()).isTrue());
      assertThatThrownBy(() -> client.getBySubjectVersion("probe4-value", 9))
          .isInstanceOfSatisfying(
              SchemaRegistryException.class,
              e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.VERSION_NOT_FOUND));
    }

    @Test
    void recordsWrittenWithAnOlderRegisteredVersionAreRead() throws Exception {
      String topic = "evolution.requests";
      String subject = topic + "-value";
      Schema older =
          Samples.without(
              RenderRequest.getClassSchema(), Set.of("labels", "callbackUrl", "idempotencyKey"));
      int oldId = client.register(subject, older);
      int newId = client.register(subject, RenderRequest.getClassSchema());
      assertThat(client.latest(subject).version()).as("BACKWARD accepted v2").isEqualTo(2);

      RenderRequest current = Samples.request("r-evolve");
      byte[] oldBytes =
          WireFormat.frame(oldId, Samples.write(older, Samples.project(current, older)));
      AvroRecordDeserializer<RenderRequest> reader =
          AvroRecordDeserializer.builder(RenderRequest.class)
              .client(SchemaRegistryClient.create(STACK.stack().schemaRegistryUrl()))
              .build();
      RenderRequest read = reader.deserialize(topic, oldBytes);
      assertThat(read.getRequestId()).isEqualTo("r-evolve");
      assertThat(read.getParams()).isEqualTo(current.getParams());
      assertThat(read.getLabels()).isEmpty();
      assertThat(
              WireFormat.schemaId(
                  AvroRecordSerializer.<RenderRequest>builder()
                      .client(client)
                      .build()
                      .serialize(topic, current)))
          .isEqualTo(newId);
    }

    @Test
    void schemaProvisionerIsIdempotent() {
      Map<String, Integer> first = SchemaProvisioner.registerAll(client, Topics.defaults());
      assertThat(first.keySet())
          .containsExactlyInAnyOrder(
              "render.requests-value",
              "render.commands-value",
              "render.tasks.base-value",
              "render.tasks.upscale-value",
              "render.stage-events-value",
              "render.worker-events-value",
              "render.status-value",
              "render.dlq-value",
              "render.schedules-value");
      SchemaRegistryClient fresh = SchemaRegistryClient.create(STACK.stack().schemaRegistryUrl());
      assertThat(SchemaProvisioner.registerAll(fresh, Topics.defaults())).isEqualTo(first);
      assertThat(fresh.versions("render.requests-value")).hasSize(1);
      assertThat(fresh.getById(first.get("render.tasks.base-value")))
          .isEqualTo(Topic.TASKS_BASE.valueSchema().orElseThrow());
    }

    @Test
    void roundTripThroughKafkaAndUnreadableRecordsToTheDlq() throws Exception {
      String topic = Topics.REQUESTS;
      String url = STACK.stack().schemaRegistryUrl();
      RenderRequest first = Samples.request("r-it-1");
      RenderRequest second = Samples.request("r-it-2");
      try (KafkaProducer<String, RenderRequest> producer =
              new KafkaProducer<>(
                  Map.of(
                      ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                      STACK.stack().bootstrapServers(),
                      ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                      AvroRecordSerializer.class,
                      SchemaRegistryConfig.URL,
                      url),
                  new StringSerializer(),
                  null);
          KafkaProducer<String, byte[]> raw =
              new KafkaProducer<>(
                  Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, STACK.stack().bootstrapServers()),
                  new StringSerializer(),
                  new ByteArraySerializer())) {
        producer.send(new ProducerRecord<>(topic, 0, "r-it-1", first)).get();
        raw.send(new ProducerRecord<>(topic, 0, "r-bad", "{\"not\":\"avro\"}".getBytes())).get();
        producer.send(new ProducerRecord<>(topic, 0, "r-it-2", second)).get();
      }

      List<RenderRequest> read = new ArrayList<>();
      List<DeadLetter> dead = new ArrayList<>();
      TopicPartition tp = new TopicPartition(topic, 0);
      try (KafkaConsumer<String, RenderRequest> consumer =
          new KafkaConsumer<>(
              Map.of(
                  ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                  STACK.stack().bootstrapServers(),
                  ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                  AvroRecordDeserializer.class,
                  ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                  StringDeserializer.class,
                  AvroRecordDeserializer.VALUE_TYPE,
                  RenderRequest.class.getName(),
                  SchemaRegistryConfig.URL,
                  url))) {
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (read.size() < 2 && System.nanoTime() < deadline) {
          try {
            for (ConsumerRecord<String, RenderRequest> r : consumer.poll(Duration.ofMillis(200))) {
              read.add(r.value());
            }
          } catch (RecordDeserializationException e) {
            assertThat(e.getCause()).isInstanceOf(UnreadableRecordException.class);
            dead.add(DeadLetters.of(e, "it", Instant.now()));
            consumer.seek(e.topicPartition(), e.offset() + 1);
          }
        }
      }
      assertThat(read).containsExactly(first, second);
      assertThat(dead).hasSize(1);
      assertThat(dead.get(0).getKey()).isEqualTo("r-bad");
      assertThat(dead.get(0).getOffset()).isEqualTo(1L);
      assertThat(dead.get(0).getReason()).startsWith("BAD_MAGIC_BYTE: ");

      // The dead letter itself travels through Kafka in the wire format.
      AvroRecordSerializer<DeadLetter> dlqOut =
          AvroRecordSerializer.<DeadLetter>builder().client(client).build();
      AvroRecordDeserializer<DeadLetter> dlqIn =
          AvroRecordDeserializer.builder(DeadLetter.class).client(client).build();
      assertThat(dlqIn.deserialize(Topics.DLQ, dlqOut.serialize(Topics.DLQ, dead.get(0))))
          .isEqualTo(dead.get(0));
    }
  }
}
