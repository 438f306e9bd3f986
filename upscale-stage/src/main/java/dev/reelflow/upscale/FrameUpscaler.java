package dev.reelflow.upscale;

import java.util.ArrayList;
import java.util.List;
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

  /**
   * Upscales equally sized frames; an engine that batches work on its device overrides this. The
   * default runs them one at a time.
   */
  default List<RgbFrame> upscale(
      List<RgbFrame> frames, int targetWidth, int targetHeight, BooleanSupplier cancelled) {
    List<RgbFrame> out = new ArrayList<>(frames.size());
    for (RgbFrame f : frames) {
      out.add(upscale(f, targetWidth, targetHeight, cancelled));
    }
    return out;
  }

  @Override
  default void close() {}
}
