package dev.reelflow.engine.vision;

import dev.reelflow.engine.GenerationSpec;
import java.util.List;
import java.util.Map;

/**
 * SigLIP's image processor as the official pipeline runs it (transformers' SiglipImageProcessor
 * from the checkpoint's {@code feature_extractor/preprocessor_config.json}): resize the RGB bytes
 * to {@code size} with Pillow's filter {@code resample} (no crop; the aspect ratio is not kept),
 * rescale by {@code rescale_factor} (in double, then float), normalise {@code (x - mean) / std} in
 * float. The result is the float pixel tensor [3, height, width], channel-major.
 *
 * @param doResize {@code do_resize}
 * @param height {@code size.height}
 * @param width {@code size.width}
 * @param filter {@code resample}
 * @param doRescale {@code do_rescale}
 * @param rescaleFactor {@code rescale_factor}
 * @param doNormalize {@code do_normalize}
 * @param mean {@code image_mean} per channel
 * @param std {@code image_std} per channel
 */
record SiglipPreprocessor(
    boolean doResize,
    int height,
    int width,
    PillowResample.Filter filter,
    boolean doRescale,
    double rescaleFactor,
    boolean doNormalize,
    float[] mean,
    float[] std) {

  public SiglipPreprocessor {
    if (height < 1 || width < 1) {
      throw new IllegalArgumentException("size must be positive: " + width + "x" + height);
    }
    if (mean.length != 3 || std.length != 3) {
      throw new IllegalArgumentException("image_mean and image_std need 3 values (RGB)");
    }
    mean = mean.clone();
    std = std.clone();
  }

  /** The released FLUX.1-Redux feature extractor: 384 x 384 bicubic, 1/255, mean = std = 0.5. */
  static SiglipPreprocessor so400m() {
    return new SiglipPreprocessor(
        true,
        384,
        384,
        PillowResample.Filter.BICUBIC,
        true,
        0.00392156862745098,
        true,
        new float[] {0.5f, 0.5f, 0.5f},
        new float[] {0.5f, 0.5f, 0.5f});
  }

  /**
   * Reads {@code preprocessor_config.json}; absent keys take SiglipImageProcessor's defaults (224 x
   * 224, bicubic, 1/255, mean and std 0.5).
   *
   * @throws IllegalArgumentException naming the key when a value is unusable or the processor is
   *     not a SigLIP one
   */
  static SiglipPreprocessor fromJson(String owner, Map<String, Object> json) {
    Object type = json.get("image_processor_type");
    if (type != null && !type.equals("SiglipImageProcessor")) {
      throw new IllegalArgumentException(
          owner
              + ": image_processor_type '"
              + type
              + "' is not SiglipImageProcessor (the official pipeline loads that one)");
    }
    // do_convert_rgb: the engine's images are RGB already
    int h = 224;
    int w = 224;
    Object size = json.get("size");
    if (size != null) {
      if (!(size instanceof Map<?, ?> m)
          || !(m.get("height") instanceof Number hn)
          || !(m.get("width") instanceof Number wn)) {
        throw new IllegalArgumentException(
            owner + ": size must be {\"height\": H, \"width\": W}, got " + size);
      }
      h = hn.intValue();
      w = wn.intValue();
    }
    int resample = json.get("resample") == null ? 3 : number(owner, json, "resample").intValue();
    PillowResample.Filter filter;
    try {
      filter = PillowResample.Filter.ofPillowCode(resample);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(owner + ": " + e.getMessage(), e);
    }
    return new SiglipPreprocessor(
        bool(owner, json, "do_resize"),
        h,
        w,
        filter,
        bool(owner, json, "do_rescale"),
        json.get("rescale_factor") == null
            ? 1 / 255.0
            : number(owner, json, "rescale_factor").doubleValue(),
        bool(owner, json, "do_normalize"),
        triple(owner, json, "image_mean"),
        triple(owner, json, "image_std"));
  }

  private static boolean bool(String owner, Map<String, Object> json, String key) {
    Object v = json.get(key);
    if (v == null) {
      return true;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    throw new IllegalArgumentException(owner + ": " + key + " must be true or false, got " + v);
  }

  private static Number number(String owner, Map<String, Object> json, String key) {
    if (json.get(key) instanceof Number n) {
      return n;
    }
    throw new IllegalArgumentException(owner + ": " + key + " must be a number");
  }

  private static float[] triple(String owner, Map<String, Object> json, String key) {
    Object v = json.get(key);
    if (v == null) {
      return new float[] {0.5f, 0.5f, 0.5f};
    }
    if (v instanceof Number n) {
      return new float[] {n.floatValue(), n.floatValue(), n.floatValue()};
    }
    if (v instanceof List<?> l && l.size() == 3 && l.stream().allMatch(Number.class::isInstance)) {
      return new float[] {
        ((Number) l.get(0)).floatValue(),
        ((Number) l.get(1)).floatValue(),
        ((Number) l.get(2)).floatValue()
      };
    }
    throw new IllegalArgumentException(owner + ": " + key + " must be 3 numbers, got " + v);
  }

  /** The processor's resize alone: packed RGB bytes of {@code width x height}. */
  byte[] resize(GenerationSpec.Image image) {
    byte[] rgb = ReferenceImages.rgb(image);
    if (!doResize) {
      return rgb;
    }
    return PillowResample.resize(rgb, image.width(), image.height(), width, height, filter);
  }

  /**
   * The pixel tensor [3, h, w] (channel-major) of an image: {@code (float) (byte * rescale)}, then
   * {@code (x - mean) / std} in float.
   */
  float[] apply(GenerationSpec.Image image) {
    int h = doResize ? height : image.height();
    int w = doResize ? width : image.width();
    byte[] rgb = resize(image);
    int plane = h * w;
    float[] out = new float[3 * plane];
    for (int i = 0; i < plane; i++) {
      for (int c = 0; c < 3; c++) {
        int b = rgb[3 * i + c] & 0xff;
        float v = doRescale ? (float) (b * rescaleFactor) : b;
        if (doNormalize) {
          v = (v - mean[c]) / std[c];
        }
        out[c * plane + i] = v;
      }
    }
    return out;
  }
}
