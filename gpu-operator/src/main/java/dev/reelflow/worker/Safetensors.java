package dev.reelflow.worker;

import dev.reelflow.worker.spi.Latents;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The safetensors format for one F32 tensor (the base stage's {@code latents.safetensors}): an
 * 8-byte little-endian header length, a JSON header padded with spaces to 8 bytes, then the raw
 * little-endian data. The same layout the reference model's checkpoints use, so the engine's loader
 * and Python tools read it.
 */
final class Safetensors {

  /** Tensor name of the latents. */
  static final String LATENTS = "latents";

  private static final Pattern TENSOR =
      Pattern.compile(
          "\"([^\"]+)\"\\s*:\\s*\\{\\s*\"dtype\"\\s*:\\s*\"([A-Z0-9]+)\"\\s*,\\s*\"shape\"\\s*:\\s*\\[([0-9,\\s]*)\\]\\s*,\\s*\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\]\\s*\\}");
  private static final Pattern META_ENTRY =
      Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

  private Safetensors() {}

  static void write(Latents latents, OutputStream out) throws IOException {
    float[] data = latents.data();
    StringBuilder h = new StringBuilder("{");
    if (!latents.metadata().isEmpty()) {
      h.append("\"__metadata__\":{");
      boolean first = true;
      for (Map.Entry<String, String> e : new java.util.TreeMap<>(latents.metadata()).entrySet()) {
        if (!first) {
          h.append(',');
        }
        first = false;
        h.append(quote(e.getKey())).append(':').append(quote(e.getValue()));
      }
      h.append("},");
    }
    h.append(quote(LATENTS)).append(":{\"dtype\":\"F32\",\"shape\":[");
    int[] shape = latents.shape();
    for (int i = 0; i < shape.length; i++) {
      h.append(i == 0 ? "" : ",").append(shape[i]);
    }
    h.append("],\"data_offsets\":[0,").append((long) data.length * 4).append("]}}");
    byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (header.length + 7) / 8 * 8;
    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
    out.write(len.array());
    out.write(header);
    for (int i = header.length; i < padded; i++) {
      out.write(' ');
    }
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : data) {
      if (!buf.hasRemaining()) {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
      }
      buf.putFloat(f);
    }
    out.write(buf.array(), 0, buf.position());
  }

  static byte[] toBytes(Latents latents) throws IOException {
    java.io.ByteArrayOutputStream bos =
        new java.io.ByteArrayOutputStream(latents.data().length * 4 + 256);
    write(latents, bos);
    return bos.toByteArray();
  }

  /** Reads the {@code latents} tensor (F32) and the metadata of a safetensors file. */
  static Latents read(byte[] file) throws IOException {
    if (file.length < 8) {
      throw new IOException("not a safetensors file: " + file.length + " bytes");
    }
    long headerLen = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    if (headerLen <= 0 || 8 + headerLen > file.length) {
      throw new IOException("safetensors header length " + headerLen + " exceeds the file");
    }
    String header = new String(file, 8, (int) headerLen, StandardCharsets.UTF_8);
    Matcher m = TENSOR.matcher(header);
    while (m.find()) {
      if (!m.group(1).equals(LATENTS)) {
        continue;
      }
      if (!m.group(2).equals("F32")) {
        throw new IOException("latents dtype is " + m.group(2) + ", expected F32");
      }
      List<Integer> dims = new ArrayList<>();
      for (String d : m.group(3).split(",")) {
        if (!d.isBlank()) {
          dims.add(Integer.parseInt(d.trim()));
        }
      }
      long begin = Long.parseLong(m.group(4));
      long end = Long.parseLong(m.group(5));
      long base = 8 + headerLen;
      if (base + end > file.length || end < begin || (end - begin) % 4 != 0) {
        throw new IOException("latents data offsets [" + begin + "," + end + "] are out of range");
      }
      float[] data = new float[(int) ((end - begin) / 4)];
      ByteBuffer.wrap(file, (int) (base + begin), (int) (end - begin))
          .order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer()
          .get(data);
      int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
      return new Latents(shape, data, metadata(header));
    }
    throw new IOException("safetensors file has no tensor named '" + LATENTS + "'");
  }

  private static Map<String, String> metadata(String header) {
    Map<String, String> out = new LinkedHashMap<>();
    int at = header.indexOf("\"__metadata__\"");
    if (at < 0) {
      return out;
    }
    int open = header.indexOf('{', at);
    int close = header.indexOf('}', open);
    Matcher m = META_ENTRY.matcher(header.substring(open + 1, close));
    while (m.find()) {
      out.put(unquote(m.group(1)), unquote(m.group(2)));
    }
    return out;
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  private static String unquote(String s) {
    return s.replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\");
  }
}
