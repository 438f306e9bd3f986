package dev.reelflow.engine.text;

import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.WeightLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A token-embedding table read row by row from its safetensors file at encode time: a prompt needs
 * about a thousand of Qwen's 152,064 rows, so the table (1.1 GB in 16-bit, 2.2 GB widened) never
 * goes to the device. Rows are widened to float32 as they are read. Thread-safe (positional reads).
 */
final class EmbeddingRows implements AutoCloseable {
  private final Path file;
  private final FileChannel channel;
  private final long dataStart;
  private final int rows;
  private final int cols;
  private final int width;
  private final DType dtype;

  private EmbeddingRows(
      Path file, FileChannel ch, long dataStart, int rows, int cols, int width, DType dtype) {
    this.file = file;
    this.channel = ch;
    this.dataStart = dataStart;
    this.rows = rows;
    this.cols = cols;
    this.width = width;
    this.dtype = dtype;
  }

  /** Opens the tensor {@code name} of {@code file} (a [rows, cols] F32, F16 or BF16 tensor). */
  static EmbeddingRows open(Path file, String name) {
    try (SafetensorsFile sf = SafetensorsFile.open(file)) {
      SafetensorsFile.Entry e = sf.entries().get(name);
      if (e == null || e.shape().length != 2) {
        throw new WeightLoadException(file + " has no 2-D tensor " + name, null);
      }
      DType dt =
          switch (e.dtype()) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            default ->
                throw new WeightLoadException(
                    name + ": stored as " + e.dtype() + "; the engine reads F32, F16 or BF16",
                    null);
          };
      int w = dt == DType.F32 ? 4 : 2;
      long headerLen = 8L + sf.headerBytes().length;
      FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
      return new EmbeddingRows(
          file,
          ch,
          headerLen + e.begin(),
          Math.toIntExact(e.shape()[0]),
          Math.toIntExact(e.shape()[1]),
          w,
          dt);
    } catch (IOException e) {
      throw new WeightLoadException("cannot read " + name + " from " + file + ": " + e, e);
    }
  }

  int rows() {
    return rows;
  }

  int cols() {
    return cols;
  }

  /** The rows of {@code ids}, widened to float32, row-major [ids.length, cols]. */
  float[] read(int[] ids) {
    float[] out = new float[ids.length * cols];
    ByteBuffer buf = ByteBuffer.allocate(cols * width).order(ByteOrder.LITTLE_ENDIAN);
    for (int r = 0; r < ids.length; r++) {
      int id = ids[r];
      if (id < 0 || id >= rows) {
        throw new IllegalArgumentException(
            "token id " + id + " is outside the embedding's " + rows + " rows (" + file + ")");
      }
      buf.clear();
      long pos = dataStart + (long) id * cols * width;
      try {
        while (buf.hasRemaining()) {
          if (channel.read(buf, pos + buf.position()) < 0) {
            throw new IOException("unexpected end of file");
          }
        }
      } catch (IOException e) {
        throw new WeightLoadException("cannot read embedding row " + id + " of " + file, e);
      }
      buf.flip();
      int off = r * cols;
      for (int c = 0; c < cols; c++) {
        out[off + c] =
            switch (dtype) {
              case F32 -> buf.getFloat();
              case BF16 -> DType.bf16ToFloat(buf.getShort());
              case F16 -> DType.f16ToFloat(buf.getShort());
            };
      }
    }
    return out;
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // read-only
    }
  }
}
