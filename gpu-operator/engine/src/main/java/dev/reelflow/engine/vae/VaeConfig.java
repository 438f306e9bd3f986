package dev.reelflow.engine.vae;

/**
 * Shape of the causal 3D VAE (HunyuanVideo-1.5 {@code AutoencoderKLConv3D}): 32 latent channels,
 * x16 spatial and x4 temporal compression, encoder levels {@code blockOut} (the decoder uses them
 * reversed, with one more resnet per level).
 */
public record VaeConfig(
    String name,
    int latentChannels,
    int[] blockOut,
    int layersPerBlock,
    int spatialFactor,
    int temporalFactor,
    float scalingFactor) {

  public VaeConfig {
    blockOut = blockOut.clone();
    if (blockOut[blockOut.length - 1] % (2 * latentChannels) != 0) {
      throw new IllegalArgumentException("last block width must be a multiple of 2*latent");
    }
  }

  /** The reference VAE: (128, 256, 512, 1024, 1024), 2 layers per block, scaling 1.03682. */
  public static VaeConfig reference() {
    return new VaeConfig(
        "hunyuanvideo-1.5", 32, new int[] {128, 256, 512, 1024, 1024}, 2, 16, 4, 1.03682f);
  }

  /** Reduced-width VAE with the same structure and compression, for tests and CPU demos. */
  public static VaeConfig tiny() {
    return new VaeConfig("tiny", 32, new int[] {8, 16, 32, 64, 64}, 1, 16, 4, 1.03682f);
  }

  @Override
  public int[] blockOut() {
    return blockOut.clone();
  }

  /** Latent frames for a pixel frame count: (F - 1) / 4 + 1. */
  public int latentFrames(int frames) {
    return (frames - 1) / temporalFactor + 1;
  }

  /** Pixel frames decoded from latent frames: (T - 1) * 4 + 1. */
  public int pixelFrames(int latentFrames) {
    return (latentFrames - 1) * temporalFactor + 1;
  }
}
