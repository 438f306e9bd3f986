package dev.reelflow.engine.sr;

import dev.reelflow.engine.EngineApi;
import java.util.ArrayList;
import java.util.List;

/**
 * The official resolution buckets ({@code generate_crop_size_list}) and the SR pipeline's {@code
 * BucketMap}: a base-stage size maps to the SR bucket whose aspect ratio (width / height) is
 * closest, the first one on ties. E.g. 1280x720 maps to 1904x1072 at base 1440.
 */
@EngineApi
public final class SrBuckets {
  /** Bucket sides are multiples of this (the official patch size 16). */
  public static final int PATCH = 16;

  private SrBuckets() {}

  /**
   * {@code generate_crop_size_list(base, 16, 4.0)}: sizes (width, height) of about base^2 pixels in
   * 16-pixel steps with aspect ratios up to 4, in the official order.
   */
  public static List<int[]> cropSizes(int base) {
    if (base < PATCH) {
      throw new IllegalArgumentException("bucket base size must be at least " + PATCH);
    }
    long patches = (long) Math.rint(Math.pow((double) base / PATCH, 2)); // round half even
    List<int[]> out = new ArrayList<>();
    long wp = patches;
    long hp = 1;
    while (wp > 0) {
      if ((double) Math.max(wp, hp) / Math.min(wp, hp) <= 4.0) {
        out.add(new int[] {(int) (wp * PATCH), (int) (hp * PATCH)});
      }
      if ((hp + 1) * wp <= patches) {
        hp++;
      } else {
        wp--;
      }
    }
    return out;
  }

  /**
   * The SR size (width, height) for a base-stage size: the bucket of {@code hrBase} with the
   * closest aspect ratio. For sizes on the official base buckets this is the official BucketMap;
   * the official code refuses other sizes, this applies the same closest-ratio rule to them.
   */
  public static int[] hrSize(int lrWidth, int lrHeight, int hrBase) {
    if (lrWidth <= 0 || lrHeight <= 0) {
      throw new IllegalArgumentException("base size must be positive");
    }
    double ratio = (double) lrWidth / lrHeight;
    int[] best = null;
    double bestDiff = Double.POSITIVE_INFINITY;
    for (int[] b : cropSizes(hrBase)) {
      double d = Math.abs((double) b[0] / b[1] - ratio);
      if (d < bestDiff) {
        bestDiff = d;
        best = b;
      }
    }
    return best.clone();
  }

  /** Whether (width, height) is one of the official buckets of {@code base}. */
  public static boolean isBucket(int width, int height, int base) {
    for (int[] b : cropSizes(base)) {
      if (b[0] == width && b[1] == height) {
        return true;
      }
    }
    return false;
  }
}
