package dev.reelflow.engine.weights;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.backend.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes tensors (and string metadata) in the safetensors format: float data stored as F32, F16 or
 * BF16 (rounded to nearest even), or raw bytes under any dtype name (for fixtures of files the
 * engine must refuse).
 */
@EngineApi
public final class SafetensorsWriter {
  private record Item(String name, String dtype, long[] shape, byte[] bytes) {}

  private final List<Item> items = new ArrayList<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  private static long count(String name, long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(name + ": negative dimension");
      }
      n *= d;
    }
    return n;
  }

  /** Adds a float32 tensor; data length must equal the product of shape. */
  public SafetensorsWriter add(String name, long[] shape, float[] data) {
    return add(name, shape, data, DType.F32);
  }

  /** Adds a tensor stored as {@code storage} (F32, F16 or BF16) from float values. */
  public SafetensorsWriter add(String name, long[] shape, float[] data, DType storage) {
    long n = count(name, shape);
    if (n != data.length) {
      throw new IllegalArgumentException(name + ": " + data.length + " values for shape size " + n);
    }
    ByteBuffer b =
        ByteBuffer.allocate(Math.toIntExact(n * storage.bytes())).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : data) {
      switch (storage) {
        case F32 -> b.putFloat(f);
        case F16 -> b.putShort(DType.floatToF16(f));
        case BF16 -> b.putShort(DType.floatToBf16(f));
      }
    }
    items.add(new Item(name, storage.name(), shape.clone(), b.array()));
    return this;
  }

  /**
   * Adds a tensor with the given safetensors dtype name (e.g. {@code F64}, {@code I32}) and raw
   * little-endian bytes, which are written unchecked.
   */
  public SafetensorsWriter addRaw(String name, String dtype, long[] shape, byte[] bytes) {
    count(name, shape);
    items.add(new Item(name, dtype, shape.clone(), bytes.clone()));
    return this;
  }

  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  /** Serialises everything to {@code out} (not closed). */
  public void writeTo(OutputStream out) throws IOException {
    List<Declared> declared = new ArrayList<>();
    for (Item it : items) {
      declared.add(new Declared(it.name, it.dtype, it.shape, it.bytes.length));
    }
    writeHeader(out, metadata, declared);
    for (Item it : items) {
      out.write(it.bytes);
    }
  }

  /** One tensor of a file whose data the caller streams itself (see {@link #writeHeader}). */
  public record Declared(String name, String dtype, long[] shape, long bytes) {}

  /**
   * Writes the length and header of a file whose tensors' bytes the caller then writes, in the
   * order given: for files too large to hold in memory (full-size seeded checkpoints).
   */
  public static void writeHeader(
      OutputStream out, Map<String, String> metadata, List<Declared> tensors) throws IOException {
    StringBuilder h = new StringBuilder("{");
    if (!metadata.isEmpty()) {
      h.append("\"__metadata__\":{");
      boolean first = true;
      for (var e : metadata.entrySet()) {
        h.append(first ? "" : ",").append(Json.quote(e.getKey())).append(':');
        h.append(Json.quote(e.getValue()));
        first = false;
      }
      h.append('}');
    }
    long off = 0;
    for (Declared t : tensors) {
      if (h.length() > 1) {
        h.append(',');
      }
      h.append(Json.quote(t.name)).append(":{\"dtype\":").append(Json.quote(t.dtype));
      h.append(",\"shape\":[");
      for (int i = 0; i < t.shape.length; i++) {
        h.append(i == 0 ? "" : ",").append(t.shape[i]);
      }
      long end = off + t.bytes;
      h.append("],\"data_offsets\":[").append(off).append(',').append(end).append("]}");
      off = end;
    }
    h.append('}');
    byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
    int pad = (8 - header.length % 8) % 8; // keep data 8-byte aligned, padded with spaces
    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    len.putLong(header.length + pad);
    out.write(len.array());
    out.write(header);
    for (int i = 0; i < pad; i++) {
      out.write(' ');
    }
  }

  /** Writes the file {@code path} (replacing it). */
  public void writeTo(Path path) throws IOException {
    try (OutputStream out = Files.newOutputStream(path)) {
      writeTo(out);
    }
  }
}
