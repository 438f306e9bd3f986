package dev.reelflow.upscale;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * An NHWC feature map (batch 1) in native memory with a zero margin of {@code pad} pixels on every
 * side and one spare row at the bottom. The margin is what lets a k×k "same" convolution run as k²
 * shifted GEMMs straight on this buffer, without an im2col copy: the shifted reads fall into zeros
 * at the border, and the over-read of the last row lands in the spare row.
 */
final class FeatureMap {
  final int height;
  final int width;
  final int channels;
  final int pad;
  final int paddedWidth;
  final FloatPointer data;
  final FloatBuffer buffer;
  final long capacity;

  private FeatureMap(int height, int width, int channels, int pad, FloatPointer data, long cap) {
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.pad = pad;
    this.paddedWidth = width + 2 * pad;
    this.data = data;
    this.buffer = data.asBuffer();
    this.capacity = cap;
  }

  static long floatsNeeded(int height, int width, int channels, int pad) {
    return (long) (height + 2 * pad + 1) * (width + 2 * pad) * channels;
  }

  /** Lays a map of the given shape over {@code storage} and zeroes its margin. */
  static FeatureMap over(
      FloatPointer storage, long cap, int height, int width, int channels, int pad) {
    long need = floatsNeeded(height, width, channels, pad);
    if (need > cap) {
      throw new IllegalArgumentException("buffer of " + cap + " floats too small for " + need);
    }
    FeatureMap m = new FeatureMap(height, width, channels, pad, storage, cap);
    m.clearMargin();
    return m;
  }

  /** Float offset of pixel (y, x) of the interior. */
  long offset(int y, int x) {
    return ((long) (y + pad) * paddedWidth + (x + pad)) * channels;
  }

  private void clearMargin() {
    int wp = paddedWidth;
    int c = channels;
    // top pad rows
    fill(0, (long) pad * wp * c);
    // left/right margins of interior rows
    for (int y = 0; y < height; y++) {
      long row = (long) (y + pad) * wp * c;
      fill(row, (long) pad * c);
      fill(row + (long) (pad + width) * c, (long) pad * c);
    }
    // bottom pad rows and the spare row
    fill((long) (height + pad) * wp * c, (long) (pad + 1) * wp * c);
  }

  private static final float[] ZEROS = new float[1 << 16];

  private void fill(long from, long count) {
    long pos = from;
    long left = count;
    while (left > 0) {
      int n = (int) Math.min(left, ZEROS.length);
      buffer.put((int) pos, ZEROS, 0, n);
      pos += n;
      left -= n;
    }
  }

  /** Reads {@code count} floats starting at interior pixel (y, x) into {@code dst}. */
  void getRow(int y, int x, float[] dst, int count) {
    buffer.get((int) offset(y, x), dst, 0, count);
  }

  void putRow(int y, int x, float[] src, int count) {
    buffer.put((int) offset(y, x), src, 0, count);
  }
}
