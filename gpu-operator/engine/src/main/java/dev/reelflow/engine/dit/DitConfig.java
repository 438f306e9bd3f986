package dev.reelflow.engine.dit;

/**
 * Shape of the HunyuanVideo-1.5-style diffusion transformer. {@link #p480()} and {@link #p720()}
 * are the real sizes (54 dual-stream blocks, hidden 2048, 16 heads x 128, MLLM text 3584-d, ByT5
 * glyphs 1472-d, SigLIP vision 1152-d); {@link #tiny()} is a scaled-down model with the same
 * structure for tests and CPU demos.
 *
 * @param name config name (tiny, 480p, 720p)
 * @param hidden model width
 * @param heads attention heads (head dim = hidden / heads)
 * @param depth number of dual-stream blocks
 * @param mlpRatio MLP width ratio
 * @param latentChannels latent channels (32); the patch embedding takes 2 * latent + 1
 * @param ropeDims RoPE split of the head dim over (t, h, w)
 * @param ropeTheta RoPE base
 * @param textDim feature width of the text encoder (MLLM) stream
 * @param refinerDepth blocks of the text token refiner
 * @param glyphDim feature width of the glyph (ByT5) stream
 * @param glyphHidden hidden width of the glyph mapper
 * @param visionDim SigLIP feature width, 0 for a model without the vision projection
 */
public record DitConfig(
    String name,
    int hidden,
    int heads,
    int depth,
    int mlpRatio,
    int latentChannels,
    int[] ropeDims,
    double ropeTheta,
    int textDim,
    int refinerDepth,
    int glyphDim,
    int glyphHidden,
    int visionDim) {

  public DitConfig {
    if (hidden % heads != 0) {
      throw new IllegalArgumentException("hidden " + hidden + " not divisible by heads " + heads);
    }
    int hd = hidden / heads;
    if (ropeDims.length != 3 || ropeDims[0] + ropeDims[1] + ropeDims[2] != hd) {
      throw new IllegalArgumentException("rope dims must sum to the head dim " + hd);
    }
    for (int d : ropeDims) {
      if (d % 2 != 0) {
        throw new IllegalArgumentException("rope dims must be even");
      }
    }
    ropeDims = ropeDims.clone();
  }

  /** Head dim 128 split 16/56/56 as the reference; smaller heads keep the proportions. */
  static int[] ropeSplit(int headDim) {
    int t = Math.max(2, Math.round(headDim * 16f / 128f / 2f) * 2);
    int h = (headDim - t) / 2 / 2 * 2;
    int w = headDim - t - h;
    return new int[] {t, h, w};
  }

  /** Small model for tests and CPU demos: 4 blocks, hidden 256, 4 heads x 64 (RoPE 8/28/28). */
  public static DitConfig tiny() {
    return new DitConfig("tiny", 256, 4, 4, 4, 32, ropeSplit(64), 256, 64, 2, 32, 64, 0);
  }

  /** The 480p model (54 blocks, hidden 2048, 16 x 128). */
  public static DitConfig p480() {
    return new DitConfig(
        "480p", 2048, 16, 54, 4, 32, new int[] {16, 56, 56}, 256, 3584, 2, 1472, 2048, 1152);
  }

  /** The 720p model: the same shape as 480p (the checkpoints differ). */
  public static DitConfig p720() {
    return new DitConfig(
        "720p", 2048, 16, 54, 4, 32, new int[] {16, 56, 56}, 256, 3584, 2, 1472, 2048, 1152);
  }

  /** Looks a config up by name: tiny, 480p or 720p. */
  public static DitConfig named(String name) {
    return switch (name) {
      case "tiny" -> tiny();
      case "480p" -> p480();
      case "720p" -> p720();
      default ->
          throw new IllegalArgumentException(
              "unknown model config '" + name + "'; use tiny, 480p or 720p");
    };
  }

  public int headDim() {
    return hidden / heads;
  }

  public int inChannels() {
    return 2 * latentChannels + 1;
  }

  @Override
  public int[] ropeDims() {
    return ropeDims.clone();
  }

  public DitConfig withDepth(int d) {
    return new DitConfig(
        name,
        hidden,
        heads,
        d,
        mlpRatio,
        latentChannels,
        ropeDims,
        ropeTheta,
        textDim,
        refinerDepth,
        glyphDim,
        glyphHidden,
        visionDim);
  }
}
