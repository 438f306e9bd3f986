package dev.reelflow.engine.sr;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the {@code config.json} of a checkpoint component (vae/, upsampler/&lt;variant&gt;/): JSON
 * objects become {@code Map<String, Object>}, arrays {@code List<Object>}, numbers {@code Long} or
 * {@code Double}, plus {@code String}, {@code Boolean} and {@code null}.
 */
public final class ConfigJson {
  private final String s;
  private int i;

  private ConfigJson(String s) {
    this.s = s;
  }

  /**
   * Parses the object in {@code file}.
   *
   * @throws IOException when the file cannot be read or is not a JSON object (naming the file)
   */
  public static Map<String, Object> read(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    try {
      return parseObject(text);
    } catch (IllegalArgumentException e) {
      throw new IOException(file + " is not a valid config.json: " + e.getMessage(), e);
    }
  }

  /** Parses a JSON object; {@link IllegalArgumentException} with the position on bad input. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> parseObject(String text) {
    ConfigJson j = new ConfigJson(text);
    Object v = j.value();
    j.ws();
    if (j.i != text.length()) {
      throw new IllegalArgumentException("trailing characters at " + j.i);
    }
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException("not a JSON object");
    }
    return (Map<String, Object>) v;
  }

  private void ws() {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
  }

  private char peek() {
    if (i >= s.length()) {
      throw new IllegalArgumentException("unexpected end of JSON");
    }
    return s.charAt(i);
  }

  private Object value() {
    ws();
    char c = peek();
    if (c == '{') {
      i++;
      Map<String, Object> m = new LinkedHashMap<>();
      ws();
      if (peek() == '}') {
        i++;
        return m;
      }
      while (true) {
        ws();
        String k = string();
        ws();
        expect(':');
        m.put(k, value());
        ws();
        if (peek() == ',') {
          i++;
        } else {
          expect('}');
          return m;
        }
      }
    }
    if (c == '[') {
      i++;
      List<Object> l = new ArrayList<>();
      ws();
      if (peek() == ']') {
        i++;
        return l;
      }
      while (true) {
        l.add(value());
        ws();
        if (peek() == ',') {
          i++;
        } else {
          expect(']');
          return l;
        }
      }
    }
    if (c == '"') {
      return string();
    }
    for (String lit : new String[] {"true", "false", "null", "NaN", "Infinity", "-Infinity"}) {
      if (s.startsWith(lit, i)) {
        i += lit.length();
        return switch (lit) {
          case "true" -> Boolean.TRUE;
          case "false" -> Boolean.FALSE;
          case "null" -> null;
          case "NaN" -> Double.NaN;
          case "Infinity" -> Double.POSITIVE_INFINITY;
          default -> Double.NEGATIVE_INFINITY;
        };
      }
    }
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
      i++;
    }
    if (start == i) {
      throw new IllegalArgumentException("unexpected character '" + c + "' at " + i);
    }
    String num = s.substring(start, i);
    try {
      if (num.contains(".") || num.contains("e") || num.contains("E")) {
        return Double.parseDouble(num);
      }
      return Long.parseLong(num);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad number '" + num + "' at " + start, e);
    }
  }

  private void expect(char c) {
    if (peek() != c) {
      throw new IllegalArgumentException("expected '" + c + "' at " + i);
    }
    i++;
  }

  private String string() {
    expect('"');
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = peek();
      i++;
      if (c == '"') {
        return b.toString();
      }
      if (c == '\\') {
        char e = peek();
        i++;
        switch (e) {
          case 'n' -> b.append('\n');
          case 't' -> b.append('\t');
          case 'r' -> b.append('\r');
          case 'b' -> b.append('\b');
          case 'f' -> b.append('\f');
          case 'u' -> {
            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          }
          default -> b.append(e);
        }
      } else {
        b.append(c);
      }
    }
  }
}
