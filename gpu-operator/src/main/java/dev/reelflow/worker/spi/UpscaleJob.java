package dev.reelflow.worker.spi;

import java.util.Map;
import java.util.Objects;

/**
 * One upscale-stage job: the base attempt's artifacts, already fetched and decoded by the runtime,
 * and the delivery size.
 *
 * @param taskId task id, for logs
 * @param requestId render id
 * @param seed random seed of the render
 * @param baseFrames frames of the base preview video
 * @param baseLatents latents of the base stage, or null when the base engine wrote none
 * @param targetWidth delivered width, e.g. 1920
 * @param targetHeight delivered height, e.g. 1080
 * @param fps frames per second of the delivered video
 * @param baseFacts facts of the base stage manifest (engine, model, ...), may be empty
 * @param prompt the render's prompt (an SR transformer is conditioned on it), empty when unknown
 * @param referenceImage the first frame of an image-to-video render (fetched by the runtime; the
 *     official SR stage conditions on it too), null for text-to-video
 */
public record UpscaleJob(
    String taskId,
    String requestId,
    long seed,
    VideoFrames baseFrames,
    Latents baseLatents,
    int targetWidth,
    int targetHeight,
    int fps,
    Map<String, String> baseFacts,
    String prompt,
    ReferenceImage referenceImage) {

  /** A text-to-video job (no reference image). */
  public UpscaleJob(
      String taskId,
      String requestId,
      long seed,
      VideoFrames baseFrames,
      Latents baseLatents,
      int targetWidth,
      int targetHeight,
      int fps,
      Map<String, String> baseFacts,
      String prompt) {
    this(
        taskId,
        requestId,
        seed,
        baseFrames,
        baseLatents,
        targetWidth,
        targetHeight,
        fps,
        baseFacts,
        prompt,
        null);
  }

  public UpscaleJob {
    Objects.requireNonNull(taskId, "taskId");
    Objects.requireNonNull(baseFrames, "baseFrames");
    if (targetWidth <= 0 || targetHeight <= 0 || fps <= 0) {
      throw new IllegalArgumentException("target size and fps must be positive");
    }
    baseFacts = baseFacts == null ? Map.of() : Map.copyOf(baseFacts);
    prompt = prompt == null ? "" : prompt;
  }

  /** A job without the render's prompt (engines that do not read it). */
  public UpscaleJob(
      String taskId,
      String requestId,
      long seed,
      VideoFrames baseFrames,
      Latents baseLatents,
      int targetWidth,
      int targetHeight,
      int fps,
      Map<String, String> baseFacts) {
    this(
        taskId,
        requestId,
        seed,
        baseFrames,
        baseLatents,
        targetWidth,
        targetHeight,
        fps,
        baseFacts,
        "");
  }
}
