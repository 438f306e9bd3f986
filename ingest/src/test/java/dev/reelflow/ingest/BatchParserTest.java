package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The one-pass NDJSON reading gives what reading line by line gives, or leaves it to that. */
class BatchParserTest {
  /** The service's own mapper: its strict settings once kept every body off the one-pass path. */
  static final ObjectMapper JSON = IngestServer.newMapper();

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"prompt\":\"a\"}\n{\"prompt\":\"b\",\"steps\":4}\n",
        "{\"prompt\":\"a\"}",
        "\n\n{\"prompt\":\"a\"}\n   \n{\"prompt\":\"b\"}\n\n",
        "{\"prompt\":\"a\"}\r\n{\"prompt\":\"b\"}\r\n",
        "  {\"prompt\":\"é ✓\"}  \n",
        "",
        " \n "
      })
  void wellFormedBodiesAreReadInOnePassWithTheSameRows(String body) {
    BatchParser.Rows fast = BatchParser.oneObjectPerLine(bytes(body), JSON, 100);
    assertThat(fast).isNotNull();
    assertThat(fast).isEqualTo(BatchParser.lineByLine(bytes(body), JSON, 100));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"prompt\":\"a\"} {\"prompt\":\"b\"}\n", // two values on one line
        "{\"prompt\":\"a\"} trailing\n{\"prompt\":\"b\"}\n",
        "{\"prompt\":\n\"a\"}\n", // one value over two lines
        "[1,2]\n{\"prompt\":\"b\"}\n",
        "null\n",
        "{\"prompt\":\"a\"\n{\"prompt\":\"b\"}\n", // not JSON
        "\uFEFF{\"prompt\":\"a\"}\n" // a byte order mark
      })
  void anythingElseIsReadLineByLine(String body) {
    assertThat(BatchParser.oneObjectPerLine(bytes(body), JSON, 100)).isNull();
    assertThat(BatchParser.ndjson(bytes(body), JSON, 100))
        .isEqualTo(BatchParser.lineByLine(bytes(body), JSON, 100));
  }

  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void tooManyRowsIsRefusedEitherWay(boolean wellFormed) {
    String body = "{\"prompt\":\"a\"}\n".repeat(4) + (wellFormed ? "" : "oops\n");
    assertThatThrownBy(() -> BatchParser.ndjson(bytes(body), JSON, 3))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("at most 3 rows");
  }

  @org.junit.jupiter.api.Test
  void invalidUtf8IsStillABadRequest() {
    byte[] body = {'{', '"', 'p', '"', ':', '"', (byte) 0xc3, (byte) 0x28, '"', '}', '\n'};
    assertThat(BatchParser.oneObjectPerLine(body, JSON, 100)).isNull();
    assertThatThrownBy(() -> BatchParser.ndjson(body, JSON, 100))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("not valid UTF-8");
  }
}
