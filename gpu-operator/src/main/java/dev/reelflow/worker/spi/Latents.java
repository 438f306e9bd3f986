package dev.reelflow.worker.spi;

import java.util.Arrays;
import java.util.Map;

/**
 * A float32 latent tensor, stored by the base stage as {@code latents.safetensors} (tensor name
 * {@code latents}) for the upscale stage.
 *
 * @param shape dimensions, outermost first, e.g. {@code [channels, frames, height, width]}
 * @param data values in row-major order; its length is the product of {@code shape}
 * @param metadata string metadata written to the safetensors header ({@code __metadata__})
 */
public record Latents(int[] shape, float[] data, Map<String, String> metadata) {

  public Latents {
    shape = shape.clone();
    long n = 1;
    for (int d : shape) {
      if (d <= 0) {
        throw new IllegalArgumentException(
            "latent dimensions must be positive: " + Arrays.toString(shape));
      }
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException(
          "latents shape "
              + Arrays.toString(shape)
              + " needs "
              + n
              + " values, got "
              + data.length);
    }
    metadata = Map.copyOf(metadata);
  }

  @Override
  public int[] shape() {
    return shape.clone();
  }
}
