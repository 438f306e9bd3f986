package dev.reelflow.ingest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates request bodies that must be rejected: valid-looking render bodies with at least one
 * mutation that breaks them (wrong types, out-of-range numbers, unknown fields, bad enums, huge
 * fields, broken JSON, invalid UTF-8), plus broken NDJSON and CSV batches. Harmless noise (unicode,
 * explicit nulls of optional fields) is mixed in so validation sees realistic bodies. Seeded, so a
 * failure can be replayed.
 */
final class BodyFuzzer {
  /** One generated request. */
  record Case(String method, String path, String contentType, byte[] body, String kind) {}

  private static final String[] UNICODE = {
    "日本語のプロンプト", "emoji 🦊🎬", "RTL \u202Eevil", "zero\u200Bwidth", "Ω≈ç√∫", "\u00e9\u0301", "\t\n"
  };
  private static final String[] FIELDS = {
    "prompt", "negativePrompt", "mode", "imageUrl", "resolution", "aspectRatio", "frames", "fps",
    "steps", "guidanceScale", "seed", "upscale", "priority", "deadline", "labels", "callbackUrl"
  };
  private static final String[] WRONG_VALUES = {
    "true",
    "false",
    "[]",
    "{}",
    "[1,2]",
    "{\"a\":1}",
    "\"\"",
    "-1",
    "1.5",
    "1e400",
    "-9223372036854775809",
    "99999999999999999999999",
    "\"NaN\"",
    "\"🦊\"",
    "\"\\u0000\"",
    "\"\\ud800\""
  };

  private final Random rnd;

  BodyFuzzer(long seed) {
    this.rnd = new Random(seed);
  }

  Case next() {
    int k = rnd.nextInt(100);
    if (k < 55) {
      return new Case("POST", "/v1/renders", "application/json", bytes(invalidRender()), "render");
    }
    if (k < 65) {
      return new Case(
          "POST", "/v1/renders", "application/json", structural(validRender()), "broken-json");
    }
    if (k < 72) {
      return new Case(
          "POST",
          "/v1/renders",
          pick("text/plain", "application/xml", "", "application/x-ndjson", "text/csv"),
          bytes(validRender()),
          "content-type");
    }
    if (k < 82) {
      return new Case("POST", "/v1/batches", "application/x-ndjson", bytes(ndjson()), "ndjson");
    }
    if (k < 90) {
      return new Case("POST", "/v1/batches", "text/csv", bytes(csv()), "csv");
    }
    if (k < 95) {
      return new Case("POST", "/v1/schedules", "application/json", bytes(schedule()), "schedule");
    }
    return new Case(
        "PATCH",
        "/v1/renders/r-missing" + rnd.nextInt(1000),
        "application/json",
        bytes(invalidRender()),
        "patch");
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private String pick(String... options) {
    return options[rnd.nextInt(options.length)];
  }

  Map<String, String> validFields() {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("prompt", quote("a fox " + (rnd.nextBoolean() ? pick(UNICODE) : "in snow")));
    if (rnd.nextBoolean()) {
      f.put("resolution", quote(pick("preview", "480p", "720p")));
    }
    if (rnd.nextBoolean()) {
      f.put("aspectRatio", quote(pick("16:9", "9:16", "1:1", "4:3", "3:4")));
    }
    if (rnd.nextBoolean()) {
      f.put("frames", Integer.toString(1 + 4 * rnd.nextInt(61)));
    }
    if (rnd.nextBoolean()) {
      f.put("priority", Integer.toString(rnd.nextInt(10)));
    }
    if (rnd.nextBoolean()) {
      f.put("labels", "{\"k\":" + quote(pick(UNICODE)) + "}");
    }
    if (rnd.nextInt(4) == 0) {
      f.put(pick("negativePrompt", "steps", "seed", "guidanceScale", "callbackUrl"), "null");
    }
    return f;
  }

  private String validRender() {
    return object(validFields());
  }

  /** A render body with 1..3 mutations that each make it invalid. */
  String invalidRender() {
    Map<String, String> f = validFields();
    int n = 1 + rnd.nextInt(3);
    for (int i = 0; i < n; i++) {
      breakOne(f);
    }
    return object(f);
  }

  private void breakOne(Map<String, String> f) {
    switch (rnd.nextInt(14)) {
      case 0 -> f.remove("prompt");
      case 1 -> f.put("prompt", pick("\"\"", "\"   \"", "null", "42", "[\"a\"]", "{}"));
      case 2 ->
          f.put(
              "prompt",
              quote(
                  (rnd.nextBoolean() ? "x" : "🦊")
                      .repeat(4001 + rnd.nextInt(rnd.nextInt(10) == 0 ? 80_000 : 8_000))));
      case 3 -> f.put(pick("frames", "fps", "steps", "seed", "priority"), pick(WRONG_VALUES));
      case 4 ->
          f.put("frames", Integer.toString(pick(new int[] {0, 2, 4, 16, 120, 245, 1000, -3})));
      case 5 ->
          f.put("priority", Integer.toString(pick(new int[] {-1, 10, 99, Integer.MAX_VALUE})));
      case 6 ->
          f.put(
              pick("resolution", "aspectRatio", "mode", "upscale"),
              pick(
                  "\"2160p\"",
                  "\"4k\"",
                  "\"16/9\"",
                  "3",
                  "true",
                  "\"" + pick(UNICODE) + "\"",
                  "\"P480\""));
      case 7 -> f.put(pick("bogus", "Prompt", "frame", "🦊", "", "seed "), pick(WRONG_VALUES));
      case 8 ->
          f.put(
              "deadline",
              pick(
                  "\"yesterday\"",
                  "\"2001-01-01T00:00:00Z\"",
                  "12345",
                  "\"2030-13-45T99:00:00Z\""));
      case 9 ->
          f.put(
              pick("imageUrl", "callbackUrl"),
              pick(
                  "\"ftp://x/y\"",
                  "\"not a url\"",
                  "\"http://\"",
                  "42",
                  quote("https://" + "a".repeat(3000) + ".com")));
      case 10 -> {
        f.put("mode", "\"i2v\"");
        f.remove("imageUrl");
      }
      case 11 ->
          f.put(
              "labels",
              pick(
                  "[]",
                  "\"x\"",
                  "{\"k\":1}",
                  "{\"bad key!\":\"v\"}",
                  "{\"k\":null}",
                  manyLabels()));
      case 12 -> f.put("guidanceScale", pick("\"high\"", "-1", "1000", "true"));
      default -> f.put("negativePrompt", pick("7", "[]", quote("n".repeat(4001))));
    }
  }

  private int pick(int[] options) {
    return options[rnd.nextInt(options.length)];
  }

  private String manyLabels() {
    StringBuilder sb = new StringBuilder("{");
    for (int i = 0; i < 40; i++) {
      sb.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
    }
    return sb.append('}').toString();
  }

  /** Broken JSON syntax: truncation, garbage, non-objects, invalid UTF-8, deep nesting. */
  byte[] structural(String valid) {
    switch (rnd.nextInt(8)) {
      case 0 -> {
        return bytes(valid.substring(0, rnd.nextInt(valid.length())));
      }
      case 1 -> {
        return bytes(valid + pick(" x", "}", ",{}", " {\"a\":1}"));
      }
      case 2 -> {
        return bytes(pick("[]", "42", "\"prompt\"", "null", "true", "[{\"prompt\":\"x\"}]"));
      }
      case 3 -> {
        byte[] b = bytes(valid);
        b[rnd.nextInt(b.length)] = (byte) (0x80 | rnd.nextInt(0x40));
        b[rnd.nextInt(b.length)] = (byte) 0xff;
        return b;
      }
      case 4 -> {
        return bytes("[".repeat(200 + rnd.nextInt(2000)));
      }
      case 5 -> {
        return bytes(valid.replace("\"prompt\":", "\"prompt\":\"dup\",\"prompt\":"));
      }
      case 6 -> {
        byte[] b = new byte[1 + rnd.nextInt(200)];
        rnd.nextBytes(b);
        b[0] = '{';
        return b;
      }
      default -> {
        return new byte[0];
      }
    }
  }

  private String ndjson() {
    List<String> rows = new ArrayList<>();
    int n = 1 + rnd.nextInt(20);
    for (int i = 0; i < n; i++) {
      rows.add(validRender());
    }
    int bad = rnd.nextInt(n);
    switch (rnd.nextInt(4)) {
      case 0 -> rows.set(bad, invalidRender());
      case 1 ->
          rows.set(
              bad,
              new String(structural(rows.get(bad)), StandardCharsets.UTF_8).replace("\n", " ")
                  + " ,");
      case 2 -> rows.set(bad, pick("[1]", "42", "\"row\"", "{"));
      default -> rows.set(bad, rows.get(bad).replace("\"prompt\":", "\"prompt\":1,\"x\":"));
    }
    return String.join("\n", rows) + (rnd.nextBoolean() ? "\n" : "");
  }

  private String csv() {
    StringBuilder sb = new StringBuilder();
    switch (rnd.nextInt(5)) {
      case 0 -> sb.append("prompt,frames\n\"unterminated,17\n");
      case 1 -> sb.append("prompt,frames\nfox,17,extra\n");
      case 2 ->
          sb.append("prompt,").append(pick("colour", "labels", "🦊", "prompt")).append("\nfox,x\n");
      case 3 ->
          sb.append("prompt,frames,priority\nfox,")
              .append(pick("16", "abc", "1.5", ""))
              .append(',')
              .append(pick("10", "-1", "high"))
              .append('\n');
      default -> sb.append("frames\n17\n");
    }
    return sb.toString();
  }

  private String schedule() {
    String cron = pick("\"0 2 * * *\"", "\"bad\"", "12", "\"* * *\"");
    String tz = pick("\"UTC\"", "\"Mars/Olympus\"", "5");
    String tpl = rnd.nextBoolean() ? invalidRender() : pick("[]", "\"x\"", "null");
    return "{\"cron\":" + cron + ",\"timezone\":" + tz + ",\"template\":" + tpl + "}";
  }

  private static String quote(String s) {
    return toJsonString(s);
  }

  private static String toJsonString(String s) {
    try {
      return ApiClient.JSON.writeValueAsString(s);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String object(Map<String, String> f) {
    StringBuilder sb = new StringBuilder("{");
    f.forEach(
        (k, v) ->
            sb.append(sb.length() > 1 ? "," : "").append(toJsonString(k)).append(':').append(v));
    return sb.append('}').toString();
  }
}
