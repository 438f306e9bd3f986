package dev.reelflow.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.serde.UnreadableRecordException.Reason;
import org.junit.jupiter.api.Test;

class WireFormatTest {

  @Test
  void framesMagicByteBigEndianIdAndBody() {
    byte[] framed = WireFormat.frame(0x01020304, new byte[] {9, 8});
    assertThat(framed).containsExactly(0, 1, 2, 3, 4, 9, 8);
    assertThat(WireFormat.schemaId(framed)).isEqualTo(0x01020304);
    assertThat(WireFormat.schemaId(WireFormat.frame(Integer.MAX_VALUE, new byte[0])))
        .isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void wrongMagicByte() {
    assertThatThrownBy(() -> WireFormat.schemaId(new byte[] {1, 0, 0, 0, 1, 2}))
        .isInstanceOfSatisfying(
            UnreadableRecordException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.BAD_MAGIC_BYTE);
              assertThat(e.schemaId()).isEqualTo(-1);
            })
        .hasMessageContaining("0x01");
    // A JSON value sent to an Avro topic starts with '{'.
    assertThatThrownBy(() -> WireFormat.schemaId("{\"a\":1}".getBytes()))
        .isInstanceOfSatisfying(
            UnreadableRecordException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.BAD_MAGIC_BYTE));
  }

  @Test
  void truncatedHeader() {
    for (byte[] bytes : new byte[][] {{}, {0}, {0, 0, 0, 1}}) {
      assertThatThrownBy(() -> WireFormat.schemaId(bytes))
          .isInstanceOfSatisfying(
              UnreadableRecordException.class,
              e -> assertThat(e.reason()).isEqualTo(Reason.TRUNCATED));
    }
  }
}
