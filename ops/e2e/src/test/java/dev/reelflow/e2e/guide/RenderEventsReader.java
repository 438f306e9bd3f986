package dev.reelflow.e2e.guide;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/** The README's Java consumer: the newest status and the lineage of every render. */
public final class RenderEventsReader {
  static final Set<RenderState> FINAL =
      Set.of(RenderState.SUCCEEDED, RenderState.FAILED, RenderState.CANCELLED, RenderState.EXPIRED);

  /** The newest status of every render: the highest version wins, older or equal are dropped. */
  public static Map<String, RenderStatus> newestStatuses(String bootstrap, String registryUrl) {
    Map<String, Object> config = new HashMap<>();
    config.put("value.deserializer", AvroRecordDeserializer.class);
    config.put("specific.avro.value.type", RenderStatus.class); // dev.reelflow:reelflow-schemas
    config.put("schema.registry.url", registryUrl);
    Map<String, RenderStatus> newest = new HashMap<>();
    readToEnd(
        bootstrap,
        "render.status",
        config,
        (String id, RenderStatus s) -> {
          if (s != null) { // null: a tombstone
            newest.merge(
                id, s, (held, next) -> next.getVersion() > held.getVersion() ? next : held);
          }
        });
    return newest;
  }

  /** The OpenLineage events (JSON) of every render, in order. */
  public static Map<String, List<JsonNode>> lineage(String bootstrap) {
    Map<String, Object> config = Map.of("value.deserializer", StringDeserializer.class);
    ObjectMapper json = new ObjectMapper();
    Map<String, List<JsonNode>> events = new HashMap<>();
    readToEnd(
        bootstrap,
        "render.lineage",
        config,
        (String id, String event) -> {
          try {
            events.computeIfAbsent(id, k -> new ArrayList<>()).add(json.readTree(event));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
    return events;
  }

  /** Reads a whole topic, read_committed, from the beginning to its end at the start. */
  static <V> void readToEnd(
      String bootstrap, String topic, Map<String, Object> config, BiConsumer<String, V> each) {
    Map<String, Object> c = new HashMap<>(config);
    c.put("bootstrap.servers", bootstrap);
    c.put("isolation.level", "read_committed"); // ReelFlow writes these topics in transactions
    c.put("key.deserializer", StringDeserializer.class);
    try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions); // the last stable offsets
      while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        for (ConsumerRecord<String, V> r : consumer.poll(Duration.ofMillis(500))) {
          each.accept(r.key(), r.value());
        }
      }
    }
  }

  public static void main(String[] args) {
    Map<String, List<JsonNode>> lineage = lineage(args[0]);
    newestStatuses(args[0], args[1])
        .forEach(
            (id, s) ->
                System.out.printf(
                    "%s %s%s seed=%s version=%d lineage=%s%n",
                    id,
                    s.getState(),
                    FINAL.contains(s.getState()) ? " (final)" : "",
                    s.getSeed(),
                    s.getVersion(),
                    lineage.getOrDefault(id, List.of()).stream()
                        .map(e -> e.path("eventType").asText())
                        .toList()));
  }

  private RenderEventsReader() {}
}
