package dev.reelflow.storage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.avro.OutputArtifact;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The {@code manifest.json} of a render (final) or of a stage attempt: what was asked, what ran
 * where, and what was written. Versioned by the {@code "schema"} field ({@value #SCHEMA}); a reader
 * refuses other versions and missing required fields with a {@link ManifestFormatException} that
 * names the field.
 *
 * <p>Without a checkpoint the engine runs on seeded random weights: {@code weightsId} is then
 * {@value #RANDOM_INIT}. An emulated engine is flagged {@code "emulated": true}.
 */
public final class Manifest {
  /** Schema id written into every manifest. */
  public static final String SCHEMA = "reelflow.manifest/v1";

  /** weightsId of a model that runs on seeded random weights (no checkpoint loaded). */
  public static final String RANDOM_INIT = "random-init";

  /** Content type of a manifest object. */
  public static final String CONTENT_TYPE = "application/json";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  /** Pixel size of a render with its API tier ({@code preview}, {@code 480p}, {@code 1080p}…). */
  public record Resolution(String tier, int width, int height) {
    public Resolution {
      requireText("resolution.tier", tier);
      if (width <= 0 || height <= 0) {
        throw new IllegalArgumentException(
            "resolution width and height must be positive: " + width + "x" + height);
      }
    }

    /** {@code 848x480}. */
    public String size() {
      return width + "x" + height;
    }
  }

  /** One object written by a stage. */
  public record Output(String name, String key, long sizeBytes, String sha256, String contentType) {
    public Output {
      requireText("output.name", name);
      requireText("output.key", key);
      if (sizeBytes < 0) {
        throw new IllegalArgumentException("output.sizeBytes must be >= 0: " + sizeBytes);
      }
      if (sha256 == null || !SHA256.matcher(sha256).matches()) {
        throw new IllegalArgumentException(
            "output.sha256 of '" + key + "' must be 64 lower-case hex characters: " + sha256);
      }
      requireText("output.contentType", contentType);
    }

    /** An output from what the store reported after the upload. */
    public static Output of(String name, StoredObject stored) {
      return new Output(
          name, stored.key(), stored.sizeBytes(), stored.sha256(), stored.contentType());
    }

    /** From the Avro record of a StageEvent's outputs. */
    public static Output fromAvro(OutputArtifact a) {
      return new Output(
          a.getName().toString(),
          a.getKey().toString(),
          a.getSizeBytes(),
          a.getSha256().toString(),
          a.getContentType().toString());
    }

    /** To the Avro record a StageEvent carries in its outputs. */
    public OutputArtifact toAvro() {
      return OutputArtifact.newBuilder()
          .setName(name)
          .setKey(key)
          .setSizeBytes(sizeBytes)
          .setSha256(sha256)
          .setContentType(contentType)
          .build();
    }
  }

  /**
   * One stage attempt: who ran it, when, with which engine, backend, model and weights (null: same
   * as the manifest's top-level values, or not recorded) and what it wrote. The upscale stage
   * records its own model and weights here (e.g. the SR variant of a checkpoint folder).
   */
  public record StageRun(
      String stage,
      String workerId,
      int attempt,
      Instant startedAt,
      Instant endedAt,
      String engine,
      String backend,
      String device,
      String modelId,
      String weightsId,
      List<Output> outputs) {
    /** A stage run that records no model or weights of its own. */
    public StageRun(
        String stage,
        String workerId,
        int attempt,
        Instant startedAt,
        Instant endedAt,
        String engine,
        String backend,
        String device,
        List<Output> outputs) {
      this(
          stage, workerId, attempt, startedAt, endedAt, engine, backend, device, null, null,
          outputs);
    }

    public StageRun {
      requireText("stage.stage", stage);
      requireText("stage.workerId", workerId);
      if (attempt < 1) {
        throw new IllegalArgumentException("stage.attempt must be >= 1: " + attempt);
      }
      Objects.requireNonNull(startedAt, "stage.startedAt");
      Objects.requireNonNull(endedAt, "stage.endedAt");
      if (endedAt.isBefore(startedAt)) {
        throw new IllegalArgumentException(
            "stage.endedAt " + endedAt + " is before startedAt " + startedAt);
      }
      stage = stage.toLowerCase(Locale.ROOT);
      outputs = List.copyOf(outputs == null ? List.of() : outputs);
    }

    public Duration duration() {
      return Duration.between(startedAt, endedAt);
    }
  }

  private final String requestId;
  private final String tenant;
  private final String prompt;
  private final String negativePrompt;
  private final long seed;
  private final String mode;
  private final Resolution resolution;
  private final String upscale;
  private final String aspectRatio;
  private final int frames;
  private final int fps;
  private final int steps;
  private final double guidance;
  private final String modelId;
  private final String weightsId;
  private final String engine;
  private final boolean emulated;
  private final String backend;
  private final String device;
  private final List<StageRun> stages;
  private final List<Output> outputs;
  private final String lineageRunId;
  private final Instant createdAt;

  private Manifest(Builder b) {
    this.requestId = ArtifactKeys.validateId("requestId", b.requestId);
    this.tenant = ArtifactKeys.validateId("tenant", b.tenant);
    this.prompt = Objects.requireNonNull(b.prompt, "prompt");
    this.negativePrompt = b.negativePrompt == null ? "" : b.negativePrompt;
    this.seed = b.seed;
    this.mode = requireText("mode", b.mode);
    this.resolution = Objects.requireNonNull(b.resolution, "resolution");
    this.upscale = b.upscale == null ? "none" : b.upscale;
    this.aspectRatio = requireText("aspectRatio", b.aspectRatio);
    this.frames = positive("frames", b.frames);
    this.fps = positive("fps", b.fps);
    this.steps = positive("steps", b.steps);
    if (!(b.guidance >= 0) || Double.isInfinite(b.guidance)) {
      throw new IllegalArgumentException("guidance must be a finite number >= 0: " + b.guidance);
    }
    this.guidance = b.guidance;
    this.modelId = requireText("modelId", b.modelId);
    this.weightsId = requireText("weightsId", b.weightsId);
    this.engine = requireText("engine", b.engine).toLowerCase(Locale.ROOT);
    this.emulated = b.emulated || this.engine.equals("emulated");
    this.backend = requireText("backend", b.backend).toLowerCase(Locale.ROOT);
    this.device = b.device == null ? "" : b.device;
    this.stages = List.copyOf(b.stages);
    this.outputs = List.copyOf(b.outputs);
    this.lineageRunId = requireText("lineageRunId", b.lineageRunId);
    this.createdAt = Objects.requireNonNull(b.createdAt, "createdAt");
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding every value of this manifest, e.g. to add the upscale stage. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.requestId = requestId;
    b.tenant = tenant;
    b.prompt = prompt;
    b.negativePrompt = negativePrompt;
    b.seed = seed;
    b.mode = mode;
    b.resolution = resolution;
    b.upscale = upscale;
    b.aspectRatio = aspectRatio;
    b.frames = frames;
    b.fps = fps;
    b.steps = steps;
    b.guidance = guidance;
    b.modelId = modelId;
    b.weightsId = weightsId;
    b.engine = engine;
    b.emulated = emulated;
    b.backend = backend;
    b.device = device;
    b.stages.addAll(stages);
    b.outputs.addAll(outputs);
    b.lineageRunId = lineageRunId;
    b.createdAt = createdAt;
    return b;
  }

  public String requestId() {
    return requestId;
  }

  public String tenant() {
    return tenant;
  }

  public String prompt() {
    return prompt;
  }

  public String negativePrompt() {
    return negativePrompt;
  }

  public long seed() {
    return seed;
  }

  /** {@code t2v} or {@code i2v}. */
  public String mode() {
    return mode;
  }

  public Resolution resolution() {
    return resolution;
  }

  /** Upscale target ({@code none} or {@code 1080p}). */
  public String upscale() {
    return upscale;
  }

  public String aspectRatio() {
    return aspectRatio;
  }

  public int frames() {
    return frames;
  }

  public int fps() {
    return fps;
  }

  public int steps() {
    return steps;
  }

  public double guidance() {
    return guidance;
  }

  public String modelId() {
    return modelId;
  }

  /** Checkpoint id, or {@value #RANDOM_INIT}. */
  public String weightsId() {
    return weightsId;
  }

  public boolean randomInit() {
    return RANDOM_INIT.equals(weightsId);
  }

  public String engine() {
    return engine;
  }

  public boolean emulated() {
    return emulated;
  }

  public String backend() {
    return backend;
  }

  public String device() {
    return device;
  }

  public List<StageRun> stages() {
    return stages;
  }

  /** Final outputs (video, poster); empty in a stage manifest. */
  public List<Output> outputs() {
    return outputs;
  }

  public String lineageRunId() {
    return lineageRunId;
  }

  public Instant createdAt() {
    return createdAt;
  }

  /** Pretty-printed JSON with {@code "schema": "reelflow.manifest/v1"} first. */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("schema", SCHEMA);
    root.put("requestId", requestId);
    root.put("tenant", tenant);
    root.put("prompt", prompt);
    root.put("negativePrompt", negativePrompt);
    root.put("seed", seed);
    root.put("mode", mode);
    ObjectNode res = root.putObject("resolution");
    res.put("tier", resolution.tier());
    res.put("width", resolution.width());
    res.put("height", resolution.height());
    root.put("upscale", upscale);
    root.put("aspectRatio", aspectRatio);
    root.put("frames", frames);
    root.put("fps", fps);
    root.put("steps", steps);
    root.put("guidance", guidance);
    root.put("modelId", modelId);
    root.put("weightsId", weightsId);
    root.put("engine", engine);
    root.put("emulated", emulated);
    root.put("backend", backend);
    root.put("device", device);
    ArrayNode stageArray = root.putArray("stages");
    for (StageRun s : stages) {
      ObjectNode n = stageArray.addObject();
      n.put("stage", s.stage());
      n.put("workerId", s.workerId());
      n.put("attempt", s.attempt());
      n.put("startedAt", s.startedAt().toString());
      n.put("endedAt", s.endedAt().toString());
      n.put("durationMillis", s.duration().toMillis());
      if (s.engine() != null) {
        n.put("engine", s.engine());
      }
      if (s.backend() != null) {
        n.put("backend", s.backend());
      }
      if (s.device() != null) {
        n.put("device", s.device());
      }
      if (s.modelId() != null) {
        n.put("modelId", s.modelId());
      }
      if (s.weightsId() != null) {
        n.put("weightsId", s.weightsId());
      }
      writeOutputs(n.putArray("outputs"), s.outputs());
    }
    writeOutputs(root.putArray("outputs"), outputs);
    root.put("lineageRunId", lineageRunId);
    root.put("createdAt", createdAt.toString());
    try {
      return JSON.writeValueAsString(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise manifest of " + requestId, e);
    }
  }

  /** UTF-8 bytes of {@link #toJson()}. */
  public byte[] toJsonBytes() {
    return toJson().getBytes(StandardCharsets.UTF_8);
  }

  private static void writeOutputs(ArrayNode array, List<Output> outputs) {
    for (Output o : outputs) {
      ObjectNode n = array.addObject();
      n.put("name", o.name());
      n.put("key", o.key());
      n.put("sizeBytes", o.sizeBytes());
      n.put("sha256", o.sha256());
      n.put("contentType", o.contentType());
    }
  }

  /**
   * Reads and validates a manifest.
   *
   * @throws ManifestFormatException on bad JSON, a schema other than {@value #SCHEMA}, or a missing
   *     or invalid field (the message names it)
   */
  public static Manifest fromJson(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new ManifestFormatException(
          "manifest.json is not valid JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (root == null || !root.isObject()) {
      throw new ManifestFormatException("manifest.json must be a JSON object");
    }
    JsonNode schema = root.get("schema");
    if (schema == null || !schema.isTextual()) {
      throw new ManifestFormatException(
          "manifest.json has no \"schema\" field; expected \"" + SCHEMA + "\"");
    }
    if (!SCHEMA.equals(schema.asText())) {
      throw new ManifestFormatException(
          "manifest.json has schema \""
              + schema.asText()
              + "\" but this reader understands \""
              + SCHEMA
              + "\" only; upgrade the reader");
    }
    try {
      Builder b = builder();
      b.requestId(text(root, "requestId"))
          .tenant(text(root, "tenant"))
          .prompt(text(root, "prompt"))
          .negativePrompt(optText(root, "negativePrompt", ""))
          .seed(number(root, "seed").asLong())
          .mode(text(root, "mode"));
      JsonNode res = object(root, "resolution");
      b.resolution(
          new Resolution(
              text(res, "tier"), number(res, "width").asInt(), number(res, "height").asInt()));
      b.upscale(optText(root, "upscale", "none"))
          .aspectRatio(text(root, "aspectRatio"))
          .frames(number(root, "frames").asInt())
          .fps(number(root, "fps").asInt())
          .steps(number(root, "steps").asInt())
          .guidance(number(root, "guidance").asDouble())
          .modelId(text(root, "modelId"))
          .weightsId(text(root, "weightsId"))
          .engine(text(root, "engine"))
          .emulated(root.path("emulated").asBoolean(false))
          .backend(text(root, "backend"))
          .device(optText(root, "device", ""))
          .lineageRunId(text(root, "lineageRunId"))
          .createdAt(instant(root, "createdAt"));
      JsonNode stageArray = root.get("stages");
      if (stageArray != null && !stageArray.isNull()) {
        if (!stageArray.isArray()) {
          throw new ManifestFormatException("manifest field \"stages\" must be an array");
        }
        for (JsonNode n : stageArray) {
          b.addStage(
              new StageRun(
                  text(n, "stage"),
                  text(n, "workerId"),
                  number(n, "attempt").asInt(),
                  instant(n, "startedAt"),
                  instant(n, "endedAt"),
                  optText(n, "engine", null),
                  optText(n, "backend", null),
                  optText(n, "device", null),
                  optText(n, "modelId", null),
                  optText(n, "weightsId", null),
                  readOutputs(n.get("outputs"))));
        }
      }
      readOutputs(root.get("outputs")).forEach(b::addOutput);
      return b.build();
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new ManifestFormatException("manifest.json is invalid: " + e.getMessage(), e);
    }
  }

  /** Reads a manifest from UTF-8 bytes. */
  public static Manifest fromJson(byte[] json) {
    return fromJson(new String(json, StandardCharsets.UTF_8));
  }

  private static List<Output> readOutputs(JsonNode array) {
    List<Output> list = new ArrayList<>();
    if (array == null || array.isNull()) {
      return list;
    }
    if (!array.isArray()) {
      throw new ManifestFormatException("manifest field \"outputs\" must be an array");
    }
    for (JsonNode n : array) {
      list.add(
          new Output(
              text(n, "name"),
              text(n, "key"),
              number(n, "sizeBytes").asLong(),
              text(n, "sha256"),
              text(n, "contentType")));
    }
    return list;
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      throw new ManifestFormatException("manifest is missing required field \"" + field + "\"");
    }
    if (!v.isTextual()) {
      throw new ManifestFormatException("manifest field \"" + field + "\" must be a string");
    }
    return v.asText();
  }

  private static String optText(JsonNode node, String field, String fallback) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isTextual()) {
      throw new ManifestFormatException("manifest field \"" + field + "\" must be a string");
    }
    return v.asText();
  }

  private static JsonNode number(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      throw new ManifestFormatException("manifest is missing required field \"" + field + "\"");
    }
    if (!v.isNumber()) {
      throw new ManifestFormatException("manifest field \"" + field + "\" must be a number");
    }
    return v;
  }

  private static JsonNode object(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || !v.isObject()) {
      throw new ManifestFormatException("manifest is missing required object \"" + field + "\"");
    }
    return v;
  }

  private static Instant instant(JsonNode node, String field) {
    String s = text(node, field);
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new ManifestFormatException(
          "manifest field \"" + field + "\" is not an ISO-8601 instant: " + s, e);
    }
  }

  private static String requireText(String field, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(field + " must not be blank");
    }
    return value;
  }

  private static int positive(String field, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(field + " must be > 0: " + value);
    }
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Manifest m && toJson().equals(m.toJson());
  }

  @Override
  public int hashCode() {
    return toJson().hashCode();
  }

  @Override
  public String toString() {
    return "Manifest{" + requestId + ", " + engine + (emulated ? " (emulated)" : "") + "}";
  }

  /** Collects the manifest's values; {@link #build()} validates them. */
  public static final class Builder {
    private String requestId;
    private String tenant;
    private String prompt;
    private String negativePrompt = "";
    private long seed;
    private String mode = "t2v";
    private Resolution resolution;
    private String upscale = "none";
    private String aspectRatio;
    private int frames;
    private int fps;
    private int steps;
    private double guidance;
    private String modelId;
    private String weightsId = RANDOM_INIT;
    private String engine;
    private boolean emulated;
    private String backend;
    private String device = "";
    private final List<StageRun> stages = new ArrayList<>();
    private final List<Output> outputs = new ArrayList<>();
    private String lineageRunId;
    private Instant createdAt;

    private Builder() {}

    public Builder requestId(String requestId) {
      this.requestId = requestId;
      return this;
    }

    public Builder tenant(String tenant) {
      this.tenant = tenant;
      return this;
    }

    public Builder prompt(String prompt) {
      this.prompt = prompt;
      return this;
    }

    public Builder negativePrompt(String negativePrompt) {
      this.negativePrompt = negativePrompt;
      return this;
    }

    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** {@code t2v} or {@code i2v}. */
    public Builder mode(String mode) {
      this.mode = mode;
      return this;
    }

    public Builder resolution(Resolution resolution) {
      this.resolution = resolution;
      return this;
    }

    public Builder resolution(String tier, int width, int height) {
      return resolution(new Resolution(tier, width, height));
    }

    /** Upscale target: {@code none} (default) or {@code 1080p}. */
    public Builder upscale(String upscale) {
      this.upscale = upscale;
      return this;
    }

    /** {@code 16:9}, {@code 9:16}, {@code 1:1}, {@code 4:3} or {@code 3:4}. */
    public Builder aspectRatio(String aspectRatio) {
      this.aspectRatio = aspectRatio;
      return this;
    }

    public Builder frames(int frames) {
      this.frames = frames;
      return this;
    }

    public Builder fps(int fps) {
      this.fps = fps;
      return this;
    }

    public Builder steps(int steps) {
      this.steps = steps;
      return this;
    }

    public Builder guidance(double guidance) {
      this.guidance = guidance;
      return this;
    }

    public Builder modelId(String modelId) {
      this.modelId = modelId;
      return this;
    }

    /** Checkpoint id; default {@value Manifest#RANDOM_INIT} (no checkpoint loaded). */
    public Builder weightsId(String weightsId) {
      this.weightsId = weightsId;
      return this;
    }

    /** {@code native}, {@code command}, {@code emulated}, {@code esrgan}, … */
    public Builder engine(String engine) {
      this.engine = engine;
      return this;
    }

    /** Forced to true when the engine is {@code emulated}. */
    public Builder emulated(boolean emulated) {
      this.emulated = emulated;
      return this;
    }

    /** {@code cpu} or {@code cuda}. */
    public Builder backend(String backend) {
      this.backend = backend;
      return this;
    }

    public Builder device(String device) {
      this.device = device;
      return this;
    }

    public Builder addStage(StageRun stage) {
      this.stages.add(Objects.requireNonNull(stage, "stage"));
      return this;
    }

    public Builder addOutput(Output output) {
      this.outputs.add(Objects.requireNonNull(output, "output"));
      return this;
    }

    public Builder lineageRunId(String lineageRunId) {
      this.lineageRunId = lineageRunId;
      return this;
    }

    public Builder createdAt(Instant createdAt) {
      this.createdAt = createdAt;
      return this;
    }

    public Manifest build() {
      return new Manifest(this);
    }
  }
}
