package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Unreadable records on render.requests (bytes that are not Confluent wire format, and wire format
 * naming a schema id the registry does not know) end on render.dlq as DeadLetter records naming the
 * source topic, partition, offset and the reason (also in headers), and the orchestrator keeps
 * processing: a valid request sent afterwards gets its status.
 */
@ExtendWith(SharedPipeline.class)
class DeadLetterIT {
  static final Duration WAIT = Duration.ofSeconds(60);
  static SharedPipeline p;

  @BeforeAll
  static void pipeline(SharedPipeline pipeline) {
    p = pipeline;
  }

  @Test
  void unreadableRequestsGoToTheDlqAndTheJobKeepsProcessing() throws Exception {
    byte[] garbage = "this is not avro {\"prompt\":\"x\"}".getBytes(StandardCharsets.UTF_8);
    byte[] unknownSchema =
        ByteBuffer.allocate(9).put((byte) 0).putInt(987_654).put(new byte[4]).array();
    RecordMetadata m1;
    RecordMetadata m2;
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                p.pipeline().stack().bootstrapServers(),
                ProducerConfig.ACKS_CONFIG,
                "all"),
            new StringSerializer(),
            new ByteArraySerializer())) {
      m1 = producer.send(new ProducerRecord<>(Topics.REQUESTS, "e2e-garbage-1", garbage)).get();
      m2 =
          producer
              .send(new ProducerRecord<>(Topics.REQUESTS, "e2e-unknown-schema-1", unknownSchema))
              .get();
    }

    EventLog.Dead d1 = awaitDead(m1);
    EventLog.Dead d2 = awaitDead(m2);
    for (EventLog.Dead d : new EventLog.Dead[] {d1, d2}) {
      DeadLetter l = d.letter();
      assertThat(l.getReason()).isNotBlank();
      assertThat(l.getErrorClass()).isNotBlank();
      assertThat(l.getComponent()).isNotBlank();
      // The reason travels in headers too, so an operator can triage without Avro.
      assertThat(d.headers()).as("headers %s", d.headers()).containsValue(l.getReason());
      assertThat(d.headers()).containsValue(Topics.REQUESTS);
      assertThat(d.headers()).containsValue(Long.toString(l.getOffset()));
    }
    assertThat(d1.letter().getKey()).isEqualTo("e2e-garbage-1");
    assertThat(bytes(d1.letter().getValue())).isEqualTo(garbage);
    assertThat(d2.letter().getKey()).isEqualTo("e2e-unknown-schema-1");
    assertThat(bytes(d2.letter().getValue())).isEqualTo(unknownSchema);
    assertThat(d2.letter().getReason()).as("names the unknown schema id").contains("987654");

    // The job survived: a valid request sent after the garbage is accepted and queued (no base
    // worker runs in this class), then cancelled so no later test's worker picks it up.
    String id = p.api().submitPreview("a valid request after garbage", 1);
    p.events()
        .awaitStatus(
            WAIT,
            "a status of " + id,
            s -> s.getRequestId().equals(id) && s.getState() != RenderState.ACCEPTED);
    assertThat(p.api().cancel(id).status()).isEqualTo(202);
    p.events()
        .awaitStatus(
            WAIT,
            "CANCELLED of " + id,
            s -> s.getRequestId().equals(id) && s.getState() == RenderState.CANCELLED);
    assertThat(p.events().unreadable()).as("records the test could not decode").isEmpty();
  }

  private EventLog.Dead awaitDead(RecordMetadata m) {
    return p.events()
        .awaitDead(
            WAIT,
            "dead letter for " + m,
            d ->
                d.letter().getSourceTopic().equals(Topics.REQUESTS)
                    && d.letter().getPartition() == m.partition()
                    && d.letter().getOffset() == m.offset());
  }

  private static byte[] bytes(ByteBuffer b) {
    if (b == null) {
      return null;
    }
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }
}
