package dev.reelflow.engine.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * JSON of safetensors headers and checkpoint configs, read with Jackson into plain values: objects
 * become {@code LinkedHashMap<String, Object>} (key order kept), arrays {@code List<Object>},
 * integers {@code Long}, other numbers {@code Double}, plus {@code String}, {@code Boolean} and
 * {@code null}. Plain values rather than a tree because the configs are read key by key with typed
 * checks that name the key ({@code DitConfigJson}).
 */
public final class Json {
  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .enable(DeserializationFeature.USE_LONG_FOR_INTS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private Json() {}

  /** Parses one JSON value; {@link IllegalArgumentException} with the location on bad input. */
  public static Object parse(String text) {
    try {
      return MAPPER.readValue(text, Object.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("malformed JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** A JSON string literal. */
  public static String quote(String v) {
    return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(v)) + '"';
  }
}
