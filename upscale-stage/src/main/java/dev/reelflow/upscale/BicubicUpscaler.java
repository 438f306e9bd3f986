package dev.reelflow.upscale;

import java.util.function.BooleanSupplier;

/** The {@code bicubic} engine: plain cubic resampling, the baseline every quality figure uses. */
public final class BicubicUpscaler implements FrameUpscaler {

  @Override
  public String id() {
    return "bicubic";
  }

  @Override
  public String weightsId() {
    return "none";
  }

  @Override
  public RgbFrame upscale(
      RgbFrame frame, int targetWidth, int targetHeight, BooleanSupplier cancelled) {
    if (cancelled.getAsBoolean()) {
      throw new UpscaleCancelledException("cancelled before resampling");
    }
    return Resampler.resize(frame, targetWidth, targetHeight);
  }
}
