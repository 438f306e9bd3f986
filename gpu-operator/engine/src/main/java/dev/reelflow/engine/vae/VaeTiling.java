package dev.reelflow.engine.vae;

import dev.reelflow.engine.EngineApi;

/**
 * The official spatial tiling of VAE decoding ({@code AutoencoderKLConv3D.spatial_tiled_decode}):
 * latent tiles of {@code sampleSize / ffactor_spatial} overlapping by {@code overlapFactor}, each
 * decoded over all frames, then blended linearly into their upper and left neighbours in raster
 * order and cropped. The official VAE has no temporal tiling (enabling it raises), so neither does
 * this one: a long clip is tiled in space only.
 *
 * @param sampleSize tile side in pixels (the pipelines use 256 or 128)
 * @param overlapFactor fraction of a tile shared with its neighbour (0.125 or 0.25)
 */
@EngineApi
public record VaeTiling(int sampleSize, double overlapFactor) {

  private static final long GIB = 1L << 30;

  public VaeTiling {
    if (sampleSize <= 0) {
      throw new IllegalArgumentException("VAE tile sample size must be positive: " + sampleSize);
    }
    if (!(overlapFactor >= 0 && overlapFactor < 1)) {
      throw new IllegalArgumentException("VAE tile overlap must be in [0, 1): " + overlapFactor);
    }
  }

  /**
   * The official choice by device memory ({@code get_vae_inference_config}): 256 px tiles with
   * overlap 0.125 above 21 GiB, else 128 px with 0.25 (also when the memory is unknown, 0, as the
   * official code reports without CUDA).
   */
  public static VaeTiling forDeviceMemory(long bytes) {
    return bytes > 21 * GIB ? new VaeTiling(256, 0.125) : new VaeTiling(128, 0.25);
  }

  /** Tile side in latent pixels: {@code sample_size // ffactor_spatial}. */
  public int tileLatent(VaeConfig cfg) {
    int tile = sampleSize / cfg.spatialFactor();
    if (tile < 1) {
      throw new IllegalArgumentException(
          "VAE tile of " + sampleSize + " px is smaller than one latent pixel of " + cfg.name());
    }
    double shared = tile * overlapFactor;
    if (shared != Math.rint(shared)) {
      // the official set_tile_sample_min_size asserts the same
      throw new IllegalArgumentException(
          "VAE tile of "
              + tile
              + " latent pixels times overlap "
              + overlapFactor
              + " must be an integer; pick a tile size or overlap that divides");
    }
    return tile;
  }

  /** Start-to-start distance of tiles in latent pixels: {@code int(tile * (1 - overlap))}. */
  public int strideLatent(VaeConfig cfg) {
    int stride = (int) (tileLatent(cfg) * (1 - overlapFactor));
    if (stride < 1) {
      throw new IllegalArgumentException("VAE tiles of " + this + " do not advance");
    }
    return stride;
  }

  /** Rows/columns blended between neighbours, in pixels: {@code int(sample_size * overlap)}. */
  public int blendPixels() {
    return (int) (sampleSize * overlapFactor);
  }

  /** Pixels kept of each tile before the next one starts: {@code sample_size - blend}. */
  public int keepPixels() {
    return sampleSize - blendPixels();
  }
}
