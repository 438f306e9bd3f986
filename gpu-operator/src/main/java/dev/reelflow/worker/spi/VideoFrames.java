package dev.reelflow.worker.spi;

import java.util.List;

/**
 * A clip as packed RGB24 frames (row-major, 3 bytes per pixel, no padding), the format engines hand
 * to the runtime's encoder. Implementations may produce frames lazily.
 */
public interface VideoFrames {

  int width();

  int height();

  int count();

  /** Frame {@code index} as {@code width * height * 3} bytes of RGB. */
  byte[] rgb(int index);

  /** Frames held in memory. */
  static VideoFrames of(int width, int height, List<byte[]> frames) {
    return new InMemoryFrames(width, height, frames);
  }

  /** Frames kept as a list; checks the size of every frame once. */
  record InMemoryFrames(int width, int height, List<byte[]> frames) implements VideoFrames {
    public InMemoryFrames {
      if (width <= 0 || height <= 0) {
        throw new IllegalArgumentException("frame size must be positive: " + width + "x" + height);
      }
      frames = List.copyOf(frames);
      int expected = width * height * 3;
      for (int i = 0; i < frames.size(); i++) {
        if (frames.get(i).length != expected) {
          throw new IllegalArgumentException(
              "frame " + i + " has " + frames.get(i).length + " bytes, expected " + expected);
        }
      }
    }

    @Override
    public int count() {
      return frames.size();
    }

    @Override
    public byte[] rgb(int index) {
      return frames.get(index);
    }
  }
}
