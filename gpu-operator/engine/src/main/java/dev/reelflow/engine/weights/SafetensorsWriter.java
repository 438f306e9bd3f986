package dev.reelflow.engine.weights;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes float32 tensors (and string metadata) in the safetensors format. */
public final class SafetensorsWriter {
  private record Item(String name, long[] shape, float[] data) {}

  private final List<Item> items = new ArrayList<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  /** Adds a float32 tensor; data length must equal the product of shape. */
  public SafetensorsWriter add(String name, long[] shape, float[] data) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException(name + ": " + data.length + " values for shape size " + n);
    }
    items.add(new Item(name, shape.clone(), data));
    return this;
  }

  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(key, value);
    return this;
  }

  /** Serialises everything to {@code out} (not closed). */
  public void writeTo(OutputStream out) throws IOException {
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
    for (Item it : items) {
      if (h.length() > 1) {
        h.append(',');
      }
      h.append(Json.quote(it.name)).append(":{\"dtype\":\"F32\",\"shape\":[");
      for (int i = 0; i < it.shape.length; i++) {
        h.append(i == 0 ? "" : ",").append(it.shape[i]);
      }
      long end = off + 4L * it.data.length;
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
    ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (Item it : items) {
      for (float f : it.data) {
        if (!buf.hasRemaining()) {
          out.write(buf.array(), 0, buf.position());
          buf.clear();
        }
        buf.putFloat(f);
      }
    }
    out.write(buf.array(), 0, buf.position());
  }
}
