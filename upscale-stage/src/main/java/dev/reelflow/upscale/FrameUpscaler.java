package dev.reelflow.upscale;

import java.util.function.BooleanSupplier;

/**
 * A pixel-space upscaling engine: one frame in, one frame of exactly the target size out. {@code
 * cancelled} is polled between tiles; when it turns true the call throws {@link
 * UpscaleCancelledException}.
 */
public interface FrameUpscaler extends AutoCloseable {

  /** Engine id as the manifest records it, e.g. {@code esrgan-slim}, {@code bicubic}. */
  String id();

  /** Weights identity for the manifest (package, version, scale), or "none". */
  String weightsId();

  RgbFrame upscale(RgbFrame frame, int targetWidth, int targetHeight, BooleanSupplier cancelled);

  @Override
  default void close() {}
}
