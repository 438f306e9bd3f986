package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderRequest;
import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

class InboundDeserializerTest {

  /** Decodes "req" to a request and "cmd" to a command; anything else is unreadable. */
  static final RecordCodec FAKE =
      new RecordCodec() {
        @Override
        public SpecificRecord decode(String topic, byte[] value) {
          String s = new String(value, StandardCharsets.UTF_8);
          if (s.equals("req")) {
            return Fixtures.request("r-1");
          }
          if (s.equals("cmd")) {
            return Fixtures.cancel("r-1");
          }
          throw new IllegalArgumentException("unknown magic byte");
        }

        @Override
        public byte[] encode(String topic, SpecificRecord value) {
          throw new UnsupportedOperationException();
        }
      };

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void readsRecordsOfTheTopicsType() {
    Inbound in = InboundDeserializer.read(FAKE, "render.requests", 0, 1, b("r-1"), b("req"));
    assertThat(in.request).isInstanceOf(RenderRequest.class);
    assertThat(in.requestId()).isEqualTo("r-1");
  }

  @Test
  void unreadableBytesBecomeADeadLetterWithTheirOrigin() {
    Inbound in = InboundDeserializer.read(FAKE, "render.stage-events", 3, 42, b("k"), b("junk"));
    assertThat(in.deadLetter).isNotNull();
    assertThat(in.deadLetter.getSourceTopic()).isEqualTo("render.stage-events");
    assertThat(in.deadLetter.getPartition()).isEqualTo(3);
    assertThat(in.deadLetter.getOffset()).isEqualTo(42);
    assertThat(in.deadLetter.getKey()).isEqualTo("k");
    assertThat(in.deadLetter.getReason()).contains("unknown magic byte");
    assertThat(in.deadLetter.getValue().remaining()).isEqualTo(4);
  }

  @Test
  void aRecordOfAnotherTypeIsIncompatible() {
    Inbound in = InboundDeserializer.read(FAKE, "render.requests", 0, 7, null, b("cmd"));
    assertThat(in.deadLetter.getErrorClass()).isEqualTo("IncompatibleSchema");
    assertThat(in.deadLetter.getReason()).contains("RenderRequest", "RenderCommand");
  }

  @Test
  void scheduleTombstoneRemovesAndOtherNullsAreDeadLettered() {
    assertThat(
            InboundDeserializer.read(FAKE, "render.schedules", 0, 1, b("s-1"), null).scheduleId())
        .isEqualTo("s-1");
    assertThat(InboundDeserializer.read(FAKE, "render.requests", 0, 1, b("r"), null).deadLetter)
        .isNotNull();
  }
}
