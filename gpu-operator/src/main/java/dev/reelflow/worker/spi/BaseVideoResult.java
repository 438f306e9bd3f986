package dev.reelflow.worker.spi;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a base engine produced. Either {@code frames} (the runtime encodes them) or {@code
 * videoFile} (an MP4 or other container the engine wrote; the runtime re-encodes it to the delivery
 * format) must be present.
 *
 * @param frames decoded frames at the base resolution, or null when the engine wrote a file
 * @param videoFile video written by the engine (e.g. an external program), or null
 * @param latents final latents for the upscale stage, or null when the engine has none
 * @param facts engine facts for the manifest (e.g. sampler, shift, sparsity); may be empty
 */
public record BaseVideoResult(
    VideoFrames frames, Path videoFile, Latents latents, Map<String, String> facts) {

  public BaseVideoResult {
    if (frames == null && videoFile == null) {
      throw new IllegalArgumentException("a base result needs frames or a video file");
    }
    facts = facts == null ? Map.of() : Map.copyOf(facts);
  }

  public static BaseVideoResult ofFrames(
      VideoFrames frames, Latents latents, Map<String, String> facts) {
    return new BaseVideoResult(frames, null, latents, facts);
  }

  public static BaseVideoResult ofFile(Path videoFile, Latents latents, Map<String, String> facts) {
    return new BaseVideoResult(null, videoFile, latents, facts);
  }
}
