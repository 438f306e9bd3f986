package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.WireNumbers;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.storage.input.AddressPolicy;
import dev.reelflow.storage.input.ImageSource;
import java.net.URI;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Validates a render body (a JSON object) field by field and applies the API defaults. Every
 * problem is collected with the field it is about, so one answer lists them all.
 */
final class RenderValidation {
  static final int MAX_PROMPT = 4000;
  static final int MAX_LABELS = 32;
  static final int MAX_URL = 2048;
  static final Set<String> FIELDS =
      Set.of(
          "prompt",
          "negativePrompt",
          "mode",
          "imageUrl",
          "resolution",
          "aspectRatio",
          "frames",
          "fps",
          "steps",
          "guidanceScale",
          "seed",
          "upscale",
          "priority",
          "deadline",
          "labels",
          "callbackUrl");
  private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}");
  private static final Pattern LABEL_DOT_SEGMENT = Pattern.compile("(^|/)\\.{0,2}(/|$)");

  /** The outcome: a submission, or the field errors (never both). */
  record Result(RenderSubmission submission, List<FieldError> errors) {
    boolean ok() {
      return errors.isEmpty();
    }
  }

  private RenderValidation() {}

  /**
   * Validation with the default image rules, prompts bounded in characters only and no tenant check
   * of {@code s3://} keys.
   */
  static Result validate(JsonNode body, Instant now) {
    return validate(body, now, ImageInputs.defaults(), PromptLength.characters(), null, true);
  }

  /**
   * Validates a render body; {@code imageUrl} is read by {@code images} (a data URI decoded and
   * checked, an {@code s3://} key checked against {@code tenant}'s prefix, a URL against the SSRF
   * rules), the prompts are bounded by {@code prompts}. {@code inlineImages} false refuses data
   * URIs (schedules keep their requests).
   */
  static Result validate(
      JsonNode body,
      Instant now,
      ImageInputs images,
      PromptLength prompts,
      String tenant,
      boolean inlineImages) {
    List<FieldError> errors = new ArrayList<>();
    if (body == null || !body.isObject()) {
      errors.add(new FieldError("", "must be a JSON object"));
      return new Result(null, errors);
    }
    Iterator<String> names = body.fieldNames();
    while (names.hasNext()) {
      String n = names.next();
      if (!FIELDS.contains(n)) {
        errors.add(new FieldError(clip(n), "unknown field"));
      }
    }
    String prompt = text(body, "prompt", errors, true);
    if (prompt != null) {
      if (prompt.isBlank()) {
        errors.add(new FieldError("prompt", "must not be blank"));
      } else {
        prompts.check("prompt", prompt).ifPresent(errors::add);
      }
    }
    String negative = text(body, "negativePrompt", errors, false);
    if (negative != null) {
      prompts.check("negativePrompt", negative).ifPresent(errors::add);
    }
    Mode mode = vocab(body, "mode", Mode.T2V, Vocabulary::mode, errors);
    String imageUrl = text(body, "imageUrl", errors, false);
    ImageSource image = null;
    if (imageUrl != null) {
      image = images.parse(imageUrl, tenant, inlineImages, "imageUrl", errors);
      if (image == null) {
        imageUrl = null;
      }
    }
    if (mode == Mode.I2V && imageUrl == null && !errors.stream().anyMatch(isField("imageUrl"))) {
      errors.add(new FieldError("imageUrl", "is required when mode is i2v"));
    }
    if (mode == Mode.T2V && imageUrl != null) {
      errors.add(new FieldError("imageUrl", "is only allowed when mode is i2v"));
    }
    Resolution resolution =
        vocab(body, "resolution", Resolution.P480, Vocabulary::resolution, errors);
    AspectRatio ratio =
        vocab(body, "aspectRatio", AspectRatio.AR_16_9, Vocabulary::aspectRatio, errors);
    Long frames = integer(body, "frames", 1, 241, errors);
    if (frames != null && (frames - 1) % 4 != 0) {
      errors.add(new FieldError("frames", "must be 4k+1 (1, 5, 9, ..., 241), got " + frames));
    }
    Long fps = integer(body, "fps", 1, 120, errors);
    Long steps = integer(body, "steps", 1, 1000, errors);
    Double guidance = number(body, "guidanceScale", 0, 100, errors);
    Long seed = seed(body, errors);
    UpscaleTarget upscale =
        vocab(body, "upscale", UpscaleTarget.P1080, Vocabulary::upscale, errors);
    Long priority = integer(body, "priority", 0, 9, errors);
    Long deadline = deadline(body.get("deadline"), "deadline", now, errors);
    Map<String, String> labels = labels(body.get("labels"), errors);
    String callbackUrl = callbackUrl(body, images.callbackPolicy(), errors);
    if (!errors.isEmpty()) {
      return new Result(null, errors);
    }
    return new Result(
        new RenderSubmission(
            prompt,
            negative == null ? "" : negative,
            mode,
            imageUrl,
            resolution,
            ratio,
            frames == null ? 121 : frames.intValue(),
            fps == null ? 24 : fps.intValue(),
            steps == null ? null : steps.intValue(),
            guidance == null ? null : guidance.floatValue(),
            seed,
            upscale,
            priority == null ? 5 : priority.intValue(),
            deadline,
            labels,
            callbackUrl,
            image),
        List.of());
  }

  /** Validates a PATCH body: {@code priority} and/or {@code deadline}, nothing else. */
  record Change(Integer priority, Long deadline) {}

  static Change validateChange(JsonNode body, Instant now) {
    List<FieldError> errors = new ArrayList<>();
    if (body == null || !body.isObject()) {
      throw ApiException.invalid(List.of(new FieldError("", "must be a JSON object")));
    }
    body.fieldNames()
        .forEachRemaining(
            n -> {
              if (!n.equals("priority") && !n.equals("deadline")) {
                errors.add(new FieldError(clip(n), "unknown field; only priority and deadline"));
              }
            });
    Long priority = integer(body, "priority", 0, 9, errors);
    Long deadline = deadline(body.get("deadline"), "deadline", now, errors);
    if (errors.isEmpty() && priority == null && deadline == null) {
      errors.add(new FieldError("", "give priority and/or deadline"));
    }
    if (!errors.isEmpty()) {
      throw ApiException.invalid(errors);
    }
    return new Change(priority == null ? null : priority.intValue(), deadline);
  }

  static Map<String, String> labels(JsonNode n, List<FieldError> errors) {
    Map<String, String> labels = new LinkedHashMap<>();
    if (n == null || n.isNull()) {
      return labels;
    }
    if (!n.isObject()) {
      errors.add(new FieldError("labels", "must be an object of strings"));
      return labels;
    }
    if (n.size() > MAX_LABELS) {
      errors.add(new FieldError("labels", "must have at most " + MAX_LABELS + " entries"));
      return labels;
    }
    n.fields()
        .forEachRemaining(
            e -> {
              String k = e.getKey();
              if (!LABEL_KEY.matcher(k).matches()) {
                errors.add(
                    new FieldError("labels." + clip(k), "key must match " + LABEL_KEY.pattern()));
              } else if (LABEL_DOT_SEGMENT.matcher(k).find()) {
                errors.add(
                    new FieldError(
                        "labels." + k, "key must not have empty, '.' or '..' path segments"));
              } else if (!e.getValue().isTextual()) {
                errors.add(new FieldError("labels." + k, "must be a string"));
              } else if (e.getValue().asText().length() > 256) {
                errors.add(new FieldError("labels." + k, "must be at most 256 characters"));
              } else if (e.getValue().asText().chars().anyMatch(Character::isISOControl)) {
                errors.add(new FieldError("labels." + k, "must not contain control characters"));
              } else {
                labels.put(k, e.getValue().asText());
              }
            });
    return labels;
  }

  static String text(JsonNode body, String field, List<FieldError> errors, boolean required) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      if (required) {
        errors.add(new FieldError(field, "is required"));
      }
      return null;
    }
    if (!n.isTextual()) {
      errors.add(new FieldError(field, "must be a string, got " + kind(n)));
      return null;
    }
    return n.asText();
  }

  /**
   * The client's seed, in 0..2^53 − 2 ({@link WireNumbers#MAX_SEED}): a larger one could not be
   * read exactly by JavaScript consumers of the status topic and the API's JSON, so it is refused
   * with a message naming the limit.
   */
  static Long seed(JsonNode body, List<FieldError> errors) {
    JsonNode n = body.get("seed");
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isIntegralNumber()) {
      errors.add(new FieldError("seed", "must be an integer in 0.." + WireNumbers.MAX_SEED));
      return null;
    }
    if (!n.canConvertToLong() || !WireNumbers.isValidSeed(n.asLong())) {
      errors.add(
          new FieldError(
              "seed", WireNumbers.seedRangeMessage(clip(n.bigIntegerValue().toString()))));
      return null;
    }
    return n.asLong();
  }

  static Long integer(JsonNode body, String field, long min, long max, List<FieldError> errors) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isIntegralNumber() || !n.canConvertToLong()) {
      errors.add(new FieldError(field, "must be an integer in " + min + ".." + max));
      return null;
    }
    long v = n.asLong();
    if (v < min || v > max) {
      errors.add(new FieldError(field, "must be in " + min + ".." + max + ", got " + v));
      return null;
    }
    return v;
  }

  private static Double number(
      JsonNode body, String field, double min, double max, List<FieldError> errors) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isNumber()) {
      errors.add(new FieldError(field, "must be a number in " + min + ".." + max));
      return null;
    }
    double v = n.asDouble();
    if (!Double.isFinite(v) || v < min || v > max) {
      errors.add(new FieldError(field, "must be in " + min + ".." + max));
      return null;
    }
    return v;
  }

  private static <E> E vocab(
      JsonNode body, String field, E fallback, Function<String, E> parse, List<FieldError> errors) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isTextual()) {
      errors.add(new FieldError(field, "must be a string, got " + kind(n)));
      return fallback;
    }
    try {
      return parse.apply(n.asText());
    } catch (IllegalArgumentException e) {
      errors.add(new FieldError(field, clip(e.getMessage())));
      return fallback;
    }
  }

  static String url(JsonNode body, String field, List<FieldError> errors) {
    String s = text(body, field, errors, false);
    if (s == null) {
      return null;
    }
    if (s.length() > MAX_URL) {
      errors.add(new FieldError(field, "must be at most " + MAX_URL + " characters"));
      return null;
    }
    try {
      URI u = new URI(s);
      String scheme = u.getScheme();
      if (scheme == null
          || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
          || u.getHost() == null) {
        errors.add(new FieldError(field, "must be an absolute http or https URL"));
        return null;
      }
      return s;
    } catch (Exception e) {
      errors.add(new FieldError(field, "must be an absolute http or https URL"));
      return null;
    }
  }

  /**
   * {@code callbackUrl}: an absolute URL that the SSRF rules do not refuse before any DNS lookup
   * (scheme, credentials, literal addresses, {@code localhost}, the pipeline's own hosts).
   */
  static String callbackUrl(JsonNode body, AddressPolicy policy, List<FieldError> errors) {
    String s = url(body, "callbackUrl", errors);
    if (s == null) {
      return null;
    }
    Optional<String> why = policy.checkUrl(URI.create(s));
    if (why.isPresent()) {
      errors.add(new FieldError("callbackUrl", clip(why.get())));
      return null;
    }
    return s;
  }

  static Long deadline(JsonNode n, String field, Instant now, List<FieldError> errors) {
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      errors.add(new FieldError(field, "must be an ISO-8601 timestamp string"));
      return null;
    }
    Instant t;
    try {
      t = OffsetDateTime.parse(n.asText()).toInstant();
    } catch (DateTimeParseException e) {
      try {
        t = Instant.parse(n.asText());
      } catch (DateTimeParseException e2) {
        errors.add(
            new FieldError(field, "must be ISO-8601 with offset, e.g. 2030-01-31T18:00:00Z"));
        return null;
      }
    }
    if (!t.isAfter(now)) {
      errors.add(new FieldError(field, "must be in the future"));
      return null;
    }
    if (t.isAfter(WireNumbers.MAX_TIME)) {
      // Its epoch milliseconds would leave the range every consumer reads exactly (or a long).
      errors.add(new FieldError(field, "must be at most " + WireNumbers.MAX_TIME));
      return null;
    }
    return t.toEpochMilli();
  }

  static String kind(JsonNode n) {
    return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  static String clip(String s) {
    if (s == null) {
      return "";
    }
    return s.length() <= 120 ? s : s.substring(0, 120) + "...";
  }

  private static java.util.function.Predicate<FieldError> isField(String f) {
    return e -> e.field().equals(f);
  }

  /** Overlays {@code row} on {@code defaults}; labels merge key by key. */
  static ObjectNode merge(ObjectNode defaults, ObjectNode row) {
    if (defaults == null || defaults.isEmpty()) {
      return row;
    }
    ObjectNode out = defaults.deepCopy();
    row.fields()
        .forEachRemaining(
            e -> {
              if (e.getKey().equals("labels")
                  && e.getValue().isObject()
                  && out.get("labels") instanceof ObjectNode l) {
                l.setAll((ObjectNode) e.getValue());
              } else {
                out.set(e.getKey(), e.getValue());
              }
            });
    return out;
  }
}
