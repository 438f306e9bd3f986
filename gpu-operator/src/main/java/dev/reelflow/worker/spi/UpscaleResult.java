package dev.reelflow.worker.spi;

import java.util.Map;
import java.util.Objects;

/**
 * Upscaled frames. The runtime resizes them to the job's target size on encode if the engine's
 * native grid differs (e.g. 1072x1904 to 1080x1920).
 *
 * @param frames upscaled frames
 * @param facts engine facts for the manifest (scale factor, network, tiles); may be empty
 */
public record UpscaleResult(VideoFrames frames, Map<String, String> facts) {

  public UpscaleResult {
    Objects.requireNonNull(frames, "frames");
    facts = facts == null ? Map.of() : Map.copyOf(facts);
  }
}
