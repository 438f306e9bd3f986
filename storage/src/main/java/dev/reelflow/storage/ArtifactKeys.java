package dev.reelflow.storage;

import dev.reelflow.schemas.avro.Stage;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Locale;
import java.util.Objects;

/**
 * The only place that builds object keys. Keys are deterministic, so a retried upload overwrites
 * the same object instead of creating a new one:
 *
 * <pre>
 * {tenant}/{yyyy}/{mm}/{dd}/{requestId}/{stage}/attempt-{n}/{file}   stage artifacts
 * {tenant}/{yyyy}/{mm}/{dd}/{requestId}/final/{video.mp4,poster.jpg,manifest.json}
 * {tenant}/{yyyy}/{mm}/{dd}/{requestId}/input/reference.{png,jpg,webp}   an inline I2V image
 * </pre>
 *
 * <p>The date is the render's {@code createdAt} in UTC (never the wall clock of the writer), so
 * every attempt of a render, on any worker, computes the same prefix. Stage names are lower-case
 * ({@code base}, {@code upscale}).
 */
public final class ArtifactKeys {
  /** Final video file name. */
  public static final String VIDEO_FILE = "video.mp4";

  /** Final poster file name. */
  public static final String POSTER_FILE = "poster.jpg";

  /** Manifest file name (final and per stage attempt). */
  public static final String MANIFEST_FILE = "manifest.json";

  /** Base-stage latents. */
  public static final String LATENTS_FILE = "latents.safetensors";

  /** Base-stage preview video. */
  public static final String PREVIEW_FILE = "preview.mp4";

  static final String FINAL_SEGMENT = "final";
  static final String INPUT_SEGMENT = "input";
  static final String ATTEMPT_SEGMENT_PREFIX = "attempt-";
  private static final int MAX_ID_LENGTH = 200;

  private ArtifactKeys() {}

  /** {@code {tenant}/{yyyy}/{mm}/{dd}/{requestId}/} */
  public static String renderPrefix(String tenant, Instant createdAt, String requestId) {
    validateId("tenant", tenant);
    validateId("requestId", requestId);
    Objects.requireNonNull(createdAt, "createdAt");
    LocalDate day = createdAt.atZone(ZoneOffset.UTC).toLocalDate();
    return String.format(
        Locale.ROOT,
        "%s/%04d/%02d/%02d/%s/",
        tenant,
        day.getYear(),
        day.getMonthValue(),
        day.getDayOfMonth(),
        requestId);
  }

  /** {@code {tenant}/{yyyy}/{mm}/{dd}/{requestId}/{stage}/attempt-{n}/} */
  public static String stagePrefix(
      String tenant, Instant createdAt, String requestId, Stage stage, int attempt) {
    return stagePrefix(tenant, createdAt, requestId, stageName(stage), attempt);
  }

  /** As {@link #stagePrefix(String, Instant, String, Stage, int)} with the stage as a string. */
  public static String stagePrefix(
      String tenant, Instant createdAt, String requestId, String stage, int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt must be >= 1 (attempts start at 1): " + attempt);
    }
    return renderPrefix(tenant, createdAt, requestId)
        + stageName(stage)
        + "/"
        + ATTEMPT_SEGMENT_PREFIX
        + attempt
        + "/";
  }

  /** {@code {tenant}/{yyyy}/{mm}/{dd}/{requestId}/{stage}/attempt-{n}/{file}} */
  public static String stageArtifact(
      String tenant, Instant createdAt, String requestId, Stage stage, int attempt, String file) {
    return stagePrefix(tenant, createdAt, requestId, stage, attempt) + validateId("file", file);
  }

  /** As {@link #stageArtifact(String, Instant, String, Stage, int, String)}, stage as string. */
  public static String stageArtifact(
      String tenant, Instant createdAt, String requestId, String stage, int attempt, String file) {
    return stagePrefix(tenant, createdAt, requestId, stage, attempt) + validateId("file", file);
  }

  /** {@code {tenant}/{yyyy}/{mm}/{dd}/{requestId}/final/} */
  public static String finalPrefix(String tenant, Instant createdAt, String requestId) {
    return renderPrefix(tenant, createdAt, requestId) + FINAL_SEGMENT + "/";
  }

  /** {@code …/{requestId}/final/{file}} */
  public static String finalArtifact(
      String tenant, Instant createdAt, String requestId, String file) {
    return finalPrefix(tenant, createdAt, requestId) + validateId("file", file);
  }

  /** {@code …/{requestId}/final/video.mp4} */
  public static String finalVideo(String tenant, Instant createdAt, String requestId) {
    return finalArtifact(tenant, createdAt, requestId, VIDEO_FILE);
  }

  /** {@code …/{requestId}/final/poster.jpg} */
  public static String finalPoster(String tenant, Instant createdAt, String requestId) {
    return finalArtifact(tenant, createdAt, requestId, POSTER_FILE);
  }

  /** {@code …/{requestId}/final/manifest.json} */
  public static String finalManifest(String tenant, Instant createdAt, String requestId) {
    return finalArtifact(tenant, createdAt, requestId, MANIFEST_FILE);
  }

  /**
   * {@code …/{requestId}/input/reference.{extension}}: where ingest stores the reference image a
   * client sent inline, so that events carry the key instead of the bytes.
   */
  public static String referenceImage(
      String tenant, Instant createdAt, String requestId, String extension) {
    return renderPrefix(tenant, createdAt, requestId)
        + INPUT_SEGMENT
        + "/reference."
        + validateId("extension", extension);
  }

  /** {@code {tenant}/}: every key of the tenant starts with it. */
  public static String tenantPrefix(String tenant) {
    return validateId("tenant", tenant) + "/";
  }

  /**
   * Refuses a key that is not under {@code {tenant}/} (or that tries to climb out of it with {@code
   * ..} segments).
   *
   * @return the key, for chaining
   * @throws KeyOutsideTenantException when the key belongs to someone else
   */
  public static String requireTenant(String tenant, String key) {
    String prefix = tenantPrefix(tenant);
    if (key == null || !key.startsWith(prefix) || key.length() == prefix.length()) {
      throw new KeyOutsideTenantException(tenant, key);
    }
    for (String segment : key.split("/", -1)) {
      if (segment.equals("..") || segment.equals(".")) {
        throw new KeyOutsideTenantException(tenant, key);
      }
    }
    return key;
  }

  /** True when the key is a published result ({@code …/{requestId}/final/{file}}). */
  public static boolean isFinalKey(String key) {
    String[] segments = key.split("/", -1);
    return segments.length == 7 && segments[5].equals(FINAL_SEGMENT) && !segments[6].isEmpty();
  }

  /** True when the key is an attempt-level artifact ({@code …/{stage}/attempt-{n}/{file}}). */
  public static boolean isAttemptKey(String key) {
    String[] segments = key.split("/", -1);
    return segments.length == 8
        && segments[6].startsWith(ATTEMPT_SEGMENT_PREFIX)
        && !segments[7].isEmpty();
  }

  /** Lower-case stage segment: {@code base} or {@code upscale}. */
  public static String stageName(Stage stage) {
    return Objects.requireNonNull(stage, "stage").name().toLowerCase(Locale.ROOT);
  }

  static String stageName(String stage) {
    Objects.requireNonNull(stage, "stage");
    String lower = stage.toLowerCase(Locale.ROOT);
    for (Stage s : Stage.values()) {
      if (s.name().toLowerCase(Locale.ROOT).equals(lower)) {
        return lower;
      }
    }
    throw new IllegalArgumentException(
        "Unknown stage '" + stage + "': expected one of base, upscale");
  }

  /**
   * Checks that an id can be one key segment: not blank, at most 200 characters, no '/', '\', '..'
   * or control characters.
   *
   * @return the id, for chaining
   */
  public static String validateId(String what, String id) {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException(what + " must not be blank");
    }
    if (id.length() > MAX_ID_LENGTH) {
      throw new IllegalArgumentException(
          what + " is longer than " + MAX_ID_LENGTH + " characters: " + id.length());
    }
    if (id.contains("/") || id.contains("\\") || id.contains("..") || id.equals(".")) {
      throw new IllegalArgumentException(
          what + " '" + id + "' must not contain '/', '\\' or '..' (it is one key segment)");
    }
    if (!id.strip().equals(id)) {
      throw new IllegalArgumentException(
          what + " '" + id + "' must not start or end with whitespace");
    }
    for (int i = 0; i < id.length(); i++) {
      if (Character.isISOControl(id.charAt(i))) {
        throw new IllegalArgumentException(what + " must not contain control characters");
      }
    }
    return id;
  }
}
