package dev.reelflow.worker.spi;

import java.util.Objects;

/**
 * The parameters of one base-stage render, resolved by the runtime from the task (pixel size from
 * the resolution tier and aspect ratio, the model's default steps when the task has none).
 *
 * @param taskId task id, for logs
 * @param requestId render id
 * @param prompt text prompt
 * @param negativePrompt negative prompt, empty for none
 * @param imageUrl first-frame image for image-to-video, null for text-to-video
 * @param resolution tier name as the API shows it: {@code preview}, {@code 480p}, {@code 720p}
 * @param width frame width in pixels
 * @param height frame height in pixels
 * @param frames number of frames (4k+1)
 * @param fps frames per second of the encoded video
 * @param steps denoising steps, or null for the engine's default
 * @param guidanceScale classifier-free guidance scale, or null for the engine's default
 * @param seed random seed
 * @param referenceImage the decoded first frame of an image-to-video job (fetched by the runtime
 *     from {@code imageUrl}), null for text-to-video
 */
public record BaseVideoJob(
    String taskId,
    String requestId,
    String prompt,
    String negativePrompt,
    String imageUrl,
    String resolution,
    int width,
    int height,
    int frames,
    int fps,
    Integer steps,
    Float guidanceScale,
    long seed,
    ReferenceImage referenceImage) {

  /** A job without a fetched reference image (text-to-video, or before the runtime fetched it). */
  public BaseVideoJob(
      String taskId,
      String requestId,
      String prompt,
      String negativePrompt,
      String imageUrl,
      String resolution,
      int width,
      int height,
      int frames,
      int fps,
      Integer steps,
      Float guidanceScale,
      long seed) {
    this(
        taskId,
        requestId,
        prompt,
        negativePrompt,
        imageUrl,
        resolution,
        width,
        height,
        frames,
        fps,
        steps,
        guidanceScale,
        seed,
        null);
  }

  public BaseVideoJob {
    Objects.requireNonNull(taskId, "taskId");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(resolution, "resolution");
    negativePrompt = negativePrompt == null ? "" : negativePrompt;
    if (width <= 0 || height <= 0 || frames <= 0 || fps <= 0) {
      throw new IllegalArgumentException(
          "width, height, frames and fps must be positive: "
              + width
              + "x"
              + height
              + ", "
              + frames
              + " frames, "
              + fps
              + " fps");
    }
    if (steps != null && steps <= 0) {
      throw new IllegalArgumentException("steps must be positive: " + steps);
    }
  }

  /** The same job with its fetched reference image. */
  public BaseVideoJob withReferenceImage(ReferenceImage image) {
    return new BaseVideoJob(
        taskId,
        requestId,
        prompt,
        negativePrompt,
        imageUrl,
        resolution,
        width,
        height,
        frames,
        fps,
        steps,
        guidanceScale,
        seed,
        image);
  }

  /** Whether this is an image-to-video job. */
  public boolean imageToVideo() {
    return imageUrl != null && !imageUrl.isBlank();
  }

  /** Steps to run: the task's, else {@code defaultSteps}. */
  public int stepsOr(int defaultSteps) {
    return steps != null ? steps : defaultSteps;
  }
}
