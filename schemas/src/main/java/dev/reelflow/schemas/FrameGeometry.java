package dev.reelflow.schemas;

import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Pixel and latent sizes of every tier and aspect ratio: the one place that knows them.
 *
 * <p>The 480p and 720p base sizes follow the reference model's resolution buckets (HunyuanVideo-1.5
 * {@code generate_crop_size_list} with stride 16 and base 640 / 960, then the bucket whose
 * height/width ratio is nearest to the requested one; ties go to the first bucket in the list, as
 * numpy's argmin does). The draft tier {@code preview} uses the same rule with base 192, which
 * gives 256x144 for 16:9 and about the same pixel count for the other ratios. The delivered 1080p
 * sizes are fixed by ARCHITECTURE.md, decision 12; the reference model's internal SR grid (base
 * 1440, 1904x1072 for 16:9) is resized to them on encode.
 */
public final class FrameGeometry {

  /** Spatial stride of the buckets and spatial compression of the VAE. */
  public static final int SPATIAL_STRIDE = 16;

  /** Temporal compression of the causal VAE: 4 frames per latent frame after the first. */
  public static final int TEMPORAL_STRIDE = 4;

  /** Largest frame count a render may ask for (10 s at 24 fps). */
  public static final int MAX_FRAMES = 241;

  static final int PREVIEW_BASE = 192;
  static final int P480_BASE = 640;
  static final int P720_BASE = 960;
  static final int SR_BASE = 1440;

  private static final Map<Resolution, Map<AspectRatio, FrameSize>> BASE =
      new EnumMap<>(Resolution.class);
  private static final Map<AspectRatio, FrameSize> SR_GRID = bucketSizes(SR_BASE);
  private static final Map<AspectRatio, FrameSize> DELIVERED_1080 =
      new EnumMap<>(AspectRatio.class);

  static {
    BASE.put(Resolution.PREVIEW, bucketSizes(PREVIEW_BASE));
    BASE.put(Resolution.P480, bucketSizes(P480_BASE));
    BASE.put(Resolution.P720, bucketSizes(P720_BASE));
    DELIVERED_1080.put(AspectRatio.AR_16_9, new FrameSize(1920, 1080));
    DELIVERED_1080.put(AspectRatio.AR_9_16, new FrameSize(1080, 1920));
    DELIVERED_1080.put(AspectRatio.AR_1_1, new FrameSize(1080, 1080));
    DELIVERED_1080.put(AspectRatio.AR_4_3, new FrameSize(1440, 1080));
    DELIVERED_1080.put(AspectRatio.AR_3_4, new FrameSize(1080, 1440));
  }

  private FrameGeometry() {}

  /** Width and height in pixels. */
  public record FrameSize(int width, int height) {
    public FrameSize {
      if (width <= 0 || height <= 0) {
        throw new IllegalArgumentException("frame size must be positive: " + width + "x" + height);
      }
    }

    /** Pixels of one frame. */
    public long pixels() {
      return (long) width * height;
    }

    /** {@code WIDTHxHEIGHT}, e.g. {@code 848x480}. */
    @Override
    public String toString() {
      return width + "x" + height;
    }
  }

  /** Latent grid of a clip: latent frames x latent height x latent width (channels excluded). */
  public record LatentGrid(int frames, int height, int width) {
    /** Video tokens of the DiT with patch size 1x1x1. */
    public long tokens() {
      return (long) frames * height * width;
    }
  }

  /** Size the base stage renders at, for a tier and an aspect ratio. */
  public static FrameSize base(Resolution resolution, AspectRatio aspectRatio) {
    return BASE.get(require(resolution, "resolution")).get(require(aspectRatio, "aspectRatio"));
  }

  /** Size of the delivered 1080p file for an aspect ratio. */
  public static FrameSize upscaled(AspectRatio aspectRatio) {
    return DELIVERED_1080.get(require(aspectRatio, "aspectRatio"));
  }

  /**
   * Size of the final video: the 1080p size when upscaled, else the base size.
   *
   * @throws IllegalArgumentException on a null argument
   */
  public static FrameSize delivered(
      Resolution resolution, AspectRatio aspectRatio, UpscaleTarget upscale) {
    return switch (require(upscale, "upscale")) {
      case NONE -> base(resolution, aspectRatio);
      case P1080 -> upscaled(aspectRatio);
    };
  }

  /**
   * The reference model's internal super-resolution grid (bucket base 1440, e.g. 1904x1072 for
   * 16:9), which the VSR stage may compute at before resizing to {@link #upscaled}.
   */
  public static FrameSize srGrid(AspectRatio aspectRatio) {
    return SR_GRID.get(require(aspectRatio, "aspectRatio"));
  }

  /** True when {@code frames} is 4k+1 in 1..241. */
  public static boolean isValidFrameCount(int frames) {
    return frames >= 1 && frames <= MAX_FRAMES && (frames - 1) % TEMPORAL_STRIDE == 0;
  }

  /**
   * Checks the frame count rule and returns the count.
   *
   * @throws IllegalArgumentException naming the nearest valid counts
   */
  public static int requireValidFrameCount(int frames) {
    if (!isValidFrameCount(frames)) {
      int clamped = Math.max(1, Math.min(MAX_FRAMES, frames));
      int lower = ((clamped - 1) / TEMPORAL_STRIDE) * TEMPORAL_STRIDE + 1;
      int upper = Math.min(MAX_FRAMES, lower + TEMPORAL_STRIDE);
      String hint = lower == clamped || lower == upper ? "" + lower : lower + " or " + upper;
      throw new IllegalArgumentException(
          "frames must be 4k+1 in 1.."
              + MAX_FRAMES
              + " (e.g. 33, 121); got "
              + frames
              + ", nearest valid: "
              + hint);
    }
    return frames;
  }

  /** Latent frames for a frame count: {@code (F-1)/4+1}. */
  public static int latentFrames(int frames) {
    return (requireValidFrameCount(frames) - 1) / TEMPORAL_STRIDE + 1;
  }

  /** Frames the VAE decodes from a latent frame count: {@code (T-1)*4+1}. */
  public static int decodedFrames(int latentFrames) {
    if (latentFrames < 1) {
      throw new IllegalArgumentException("latent frames must be >= 1, got " + latentFrames);
    }
    return (latentFrames - 1) * TEMPORAL_STRIDE + 1;
  }

  /**
   * Latent grid of a clip: {@code T=(F-1)/4+1, H/16, W/16}.
   *
   * @throws IllegalArgumentException when the frame count breaks the 4k+1 rule or a side is not a
   *     multiple of 16
   */
  public static LatentGrid latent(int frames, FrameSize size) {
    if (size.width() % SPATIAL_STRIDE != 0 || size.height() % SPATIAL_STRIDE != 0) {
      throw new IllegalArgumentException(
          "frame sides must be multiples of " + SPATIAL_STRIDE + ", got " + size);
    }
    return new LatentGrid(
        latentFrames(frames), size.height() / SPATIAL_STRIDE, size.width() / SPATIAL_STRIDE);
  }

  /** Latent grid of the base stage for a tier, ratio and frame count. */
  public static LatentGrid latent(Resolution resolution, AspectRatio aspectRatio, int frames) {
    return latent(frames, base(resolution, aspectRatio));
  }

  /** Width:height of an aspect ratio, e.g. {16, 9}. */
  static int[] ratio(AspectRatio aspectRatio) {
    return switch (aspectRatio) {
      case AR_16_9 -> new int[] {16, 9};
      case AR_9_16 -> new int[] {9, 16};
      case AR_1_1 -> new int[] {1, 1};
      case AR_4_3 -> new int[] {4, 3};
      case AR_3_4 -> new int[] {3, 4};
    };
  }

  /**
   * The reference {@code generate_crop_size_list(base, 16, max_ratio=4)}: pairs (first, second) in
   * pixels, which the pipeline reads as (height, width).
   */
  static List<int[]> cropSizeList(int baseSize, int stride) {
    int numPatches = (int) Math.round(Math.pow((double) baseSize / stride, 2));
    List<int[]> list = new ArrayList<>();
    int wp = numPatches;
    int hp = 1;
    while (wp > 0) {
      if ((double) Math.max(wp, hp) / Math.min(wp, hp) <= 4.0) {
        list.add(new int[] {wp * stride, hp * stride});
      }
      if ((hp + 1) * wp <= numPatches) {
        hp += 1;
      } else {
        wp -= 1;
      }
    }
    return list;
  }

  /** Nearest-ratio bucket (the reference {@code get_closest_ratio}) for a width:height. */
  static FrameSize nearestBucket(int baseSize, int ratioWidth, int ratioHeight) {
    double target = (double) ratioHeight / ratioWidth;
    FrameSize best = null;
    double bestDistance = Double.MAX_VALUE;
    for (int[] hw : cropSizeList(baseSize, SPATIAL_STRIDE)) {
      // The reference rounds the bucket ratios to 5 decimals before comparing.
      double ratio = Math.round((double) hw[0] / hw[1] * 1e5) / 1e5;
      double distance = Math.abs(ratio - target);
      if (distance < bestDistance) {
        bestDistance = distance;
        best = new FrameSize(hw[1], hw[0]);
      }
    }
    return best;
  }

  private static Map<AspectRatio, FrameSize> bucketSizes(int baseSize) {
    Map<AspectRatio, FrameSize> sizes = new EnumMap<>(AspectRatio.class);
    for (AspectRatio ar : AspectRatio.values()) {
      int[] r = ratio(ar);
      sizes.put(ar, nearestBucket(baseSize, r[0], r[1]));
    }
    return sizes;
  }

  private static <T> T require(T value, String name) {
    if (value == null) {
      throw new IllegalArgumentException(name + " is null");
    }
    return value;
  }
}
