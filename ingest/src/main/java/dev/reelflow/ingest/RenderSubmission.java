package dev.reelflow.ingest;

import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.storage.input.ImageSource;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * One validated render body with the API defaults applied. {@code seed} is null when the client
 * gave none; the id and seed are fixed when the request is built. {@code image} is the parsed
 * {@code imageUrl} (null without one); {@link ImageInputs#resolve} replaces an inline image's
 * {@code imageUrl} by the key it stored it under.
 */
record RenderSubmission(
    String prompt,
    String negativePrompt,
    Mode mode,
    String imageUrl,
    Resolution resolution,
    AspectRatio aspectRatio,
    int frames,
    int fps,
    Integer steps,
    Float guidanceScale,
    Long seed,
    UpscaleTarget upscale,
    int priority,
    Long deadline,
    Map<String, String> labels,
    String callbackUrl,
    ImageSource image) {

  /** The same submission with another {@code imageUrl} (the stored key of an inline image). */
  RenderSubmission withImageUrl(String url) {
    return new RenderSubmission(
        prompt,
        negativePrompt,
        mode,
        url,
        resolution,
        aspectRatio,
        frames,
        fps,
        steps,
        guidanceScale,
        seed,
        upscale,
        priority,
        deadline,
        labels,
        callbackUrl,
        image);
  }

  // Records are made with their all-arguments constructors, not builders: a builder validates
  // every field against the schema and tracks which were set, a few microseconds per record that
  // every row of a batch paid twice (RenderSubmissionTest checks the fields against the builders').

  RenderParams params(long seedToUse) {
    return new RenderParams(
        prompt,
        negativePrompt,
        mode,
        imageUrl,
        resolution,
        aspectRatio,
        frames,
        fps,
        steps,
        guidanceScale,
        seedToUse,
        upscale);
  }

  /** The Avro request; the seed is the client's or {@code fallbackSeed}. */
  RenderRequest toRequest(
      String requestId,
      String tenant,
      long fallbackSeed,
      String batchId,
      Integer batchRow,
      String idempotencyKey,
      Instant now) {
    return new RenderRequest(
        requestId,
        tenant,
        params(seed != null ? seed : fallbackSeed),
        priority,
        deadline == null ? null : Instant.ofEpochMilli(deadline),
        new TreeMap<>(labels),
        callbackUrl,
        batchId,
        batchRow,
        null, // scheduleId
        null, // scheduleFireTime
        idempotencyKey,
        now);
  }

  /**
   * A stable hash of what the client asked for (defaults applied, seed as given), so two bodies
   * that mean the same render match under one Idempotency-Key and different ones do not.
   */
  String fingerprint() {
    StringBuilder sb = new StringBuilder();
    sb.append(prompt).append('\u0001').append(negativePrompt).append('\u0001');
    sb.append(Vocabulary.mode(mode)).append('\u0001').append(imageUrl).append('\u0001');
    sb.append(Vocabulary.resolution(resolution)).append('\u0001');
    sb.append(Vocabulary.aspectRatio(aspectRatio)).append('\u0001');
    sb.append(frames).append('\u0001').append(fps).append('\u0001').append(steps);
    sb.append('\u0001').append(guidanceScale).append('\u0001').append(seed).append('\u0001');
    sb.append(Vocabulary.upscale(upscale)).append('\u0001').append(priority).append('\u0001');
    sb.append(deadline).append('\u0001').append(new TreeMap<>(labels)).append('\u0001');
    sb.append(callbackUrl);
    return Ids.sha256Hex(sb.toString().getBytes(StandardCharsets.UTF_8));
  }
}
