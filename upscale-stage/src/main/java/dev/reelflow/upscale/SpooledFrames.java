package dev.reelflow.upscale;

import dev.reelflow.worker.spi.VideoFrames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Upscaled frames spooled to one file in the task's scratch directory: 121 frames of 1080p RGB are
 * 750 MB, more than a worker heap should hold. Frames are appended in order and read back by index
 * (the encoder reads them once, in order).
 */
final class SpooledFrames implements VideoFrames, AutoCloseable {
  private final int width;
  private final int height;
  private final int frameBytes;
  private final Path file;
  private final FileChannel channel;
  private int count;

  SpooledFrames(Path file, int width, int height) throws IOException {
    this.width = width;
    this.height = height;
    this.frameBytes = width * height * 3;
    this.file = file;
    this.channel =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE);
  }

  void append(byte[] rgb) throws IOException {
    if (rgb.length != frameBytes) {
      throw new IllegalArgumentException(
          "frame has " + rgb.length + " bytes, expected " + frameBytes);
    }
    ByteBuffer b = ByteBuffer.wrap(rgb);
    long pos = (long) count * frameBytes;
    while (b.hasRemaining()) {
      pos += channel.write(b, pos);
    }
    count++;
  }

  @Override
  public int width() {
    return width;
  }

  @Override
  public int height() {
    return height;
  }

  @Override
  public int count() {
    return count;
  }

  @Override
  public byte[] rgb(int index) {
    if (index < 0 || index >= count) {
      throw new IndexOutOfBoundsException("frame " + index + " of " + count);
    }
    byte[] out = new byte[frameBytes];
    ByteBuffer b = ByteBuffer.wrap(out);
    long pos = (long) index * frameBytes;
    try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
      while (b.hasRemaining()) {
        int n = in.read(b, pos);
        if (n < 0) {
          throw new IOException("spool file ends inside frame " + index);
        }
        pos += n;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read spooled frame " + index, e);
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
