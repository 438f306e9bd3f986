package dev.reelflow.ingest;

import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import dev.reelflow.schemas.serde.AvroRecordSerializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Predicate;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Test-side Kafka access: read a topic read_committed from the start, write Avro records. */
final class KafkaTopics {
  private final String bootstrap;
  private final SchemaRegistryClient registry;

  KafkaTopics(String bootstrap, String registryUrl) {
    this.bootstrap = bootstrap;
    this.registry = SchemaRegistryClient.create(registryUrl);
  }

  /** Every committed record of the topic matching the filter, decoded, after {@code settle}. */
  <T extends SpecificRecord> List<T> readAll(
      String topic, Class<T> type, Predicate<T> filter, int expected, Duration timeout) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    AvroRecordDeserializer<T> de = AvroRecordDeserializer.builder(type).client(registry).build();
    List<T> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts =
          c.partitionsFor(topic).stream()
              .map(i -> new TopicPartition(topic, i.partition()))
              .toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      var ends = c.endOffsets(parts);
      long until = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < until) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.value() != null) {
            T v = de.deserialize(topic, r.value());
            if (filter.test(v)) {
              out.add(v);
            }
          }
        }
        boolean atEnd = parts.stream().allMatch(tp -> c.position(tp) >= ends.get(tp));
        if (atEnd && out.size() >= expected) {
          break;
        }
        if (atEnd) {
          ends.putAll(c.endOffsets(parts));
        }
      }
    }
    return out;
  }

  private KafkaProducer<String, SpecificRecord> producer;

  synchronized void write(String topic, String key, SpecificRecord value) {
    if (producer == null) {
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      AvroRecordSerializer<SpecificRecord> ser =
          AvroRecordSerializer.<SpecificRecord>builder().client(registry).build();
      producer = new KafkaProducer<>(p, new StringSerializer(), ser);
    }
    try {
      producer.send(new ProducerRecord<>(topic, key, value)).get();
    } catch (Exception e) {
      throw new AssertionError("write to " + topic + " failed", e);
    }
  }

  synchronized void close() {
    if (producer != null) {
      producer.close();
    }
  }
}
