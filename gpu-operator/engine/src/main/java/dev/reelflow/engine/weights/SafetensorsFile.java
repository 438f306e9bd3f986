package dev.reelflow.engine.weights;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.Tensor;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;

/**
 * Reader for the safetensors format: an 8-byte little-endian header length, a JSON header mapping
 * tensor names to dtype, shape and byte offsets, then the raw data. Tensor data of a file on disk
 * is memory-mapped one tensor at a time (so files larger than 2 GiB work) and copied into backend
 * tensors; small files already in memory (the base stage's latents artifact) are read with {@link
 * #of(byte[], String)}. Supports F32, F16 and BF16. {@link SafetensorsWriter} writes the format.
 */
@EngineApi
public final class SafetensorsFile implements AutoCloseable {
  /** Header entry of one tensor. */
  public record Entry(String name, String dtype, long[] shape, long begin, long end) {}

  private final Path path;
  private final String source;
  private final FileChannel channel; // null for a file held in memory
  private final byte[] bytes; // null for a file on disk
  private final long dataStart;
  private final Map<String, Entry> entries;
  private final Map<String, String> metadata;
  private final byte[] header;
  private final long fileSize;

  private SafetensorsFile(
      Path path,
      String source,
      FileChannel channel,
      byte[] bytes,
      long dataStart,
      Map<String, Entry> entries,
      Map<String, String> metadata,
      byte[] header,
      long fileSize) {
    this.path = path;
    this.source = source;
    this.channel = channel;
    this.bytes = bytes;
    this.dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
    this.header = header;
    this.fileSize = fileSize;
  }

  /** Opens and parses the header; the data stays on disk until a tensor is read. */
  public static SafetensorsFile open(Path path) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
    try {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, len, 0);
      long n = len.flip().getLong();
      checkHeaderLength(n, ch.size(), path.toString());
      ByteBuffer hb = ByteBuffer.allocate((int) n);
      readFully(ch, hb, 8);
      return parse(path, path.toString(), ch, null, hb.array(), ch.size());
    } catch (RuntimeException | IOException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Parses a whole file held in memory; {@code source} names it in errors (e.g. its object key).
   */
  public static SafetensorsFile of(byte[] file, String source) throws IOException {
    if (file.length < 8) {
      throw new IOException(source + " is not a safetensors file: " + file.length + " bytes");
    }
    long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    checkHeaderLength(n, file.length, source);
    byte[] header = java.util.Arrays.copyOfRange(file, 8, 8 + (int) n);
    return parse(null, source, null, file, header, file.length);
  }

  private static void checkHeaderLength(long n, long size, String source) throws IOException {
    if (n <= 0 || n > 100_000_000 || n + 8 > size) {
      throw new IOException(source + " is not a safetensors file (header length " + n + ")");
    }
  }

  @SuppressWarnings("unchecked")
  private static SafetensorsFile parse(
      Path path, String source, FileChannel ch, byte[] bytes, byte[] hb, long size)
      throws IOException {
    long n = hb.length;
    try {
      Map<String, Object> header =
          (Map<String, Object>) Json.parse(new String(hb, StandardCharsets.UTF_8));
      Map<String, Entry> entries = new LinkedHashMap<>();
      Map<String, String> meta = new LinkedHashMap<>();
      for (var e : header.entrySet()) {
        if (e.getKey().equals("__metadata__")) {
          ((Map<String, Object>) e.getValue()).forEach((k, v) -> meta.put(k, String.valueOf(v)));
          continue;
        }
        Map<String, Object> t = (Map<String, Object>) e.getValue();
        List<Object> shape = (List<Object>) t.get("shape");
        List<Object> off = (List<Object>) t.get("data_offsets");
        long[] s = new long[shape.size()];
        for (int i = 0; i < s.length; i++) {
          s[i] = ((Number) shape.get(i)).longValue();
        }
        entries.put(
            e.getKey(),
            new Entry(
                e.getKey(),
                (String) t.get("dtype"),
                s,
                ((Number) off.get(0)).longValue(),
                ((Number) off.get(1)).longValue()));
      }
      for (Entry e : entries.values()) {
        if (e.begin < 0 || e.end < e.begin || 8 + n + e.end > size) {
          throw new IOException(
              source
                  + ": tensor "
                  + e.name
                  + " lies outside the file (data_offsets ["
                  + e.begin
                  + ", "
                  + e.end
                  + "], file of "
                  + size
                  + " bytes): the file is truncated or corrupt");
        }
      }
      return new SafetensorsFile(
          path,
          source,
          ch,
          bytes,
          8 + n,
          Collections.unmodifiableMap(entries),
          Collections.unmodifiableMap(meta),
          hb,
          size);
    } catch (RuntimeException e) {
      throw new IOException(source + ": unreadable safetensors header: " + e.getMessage(), e);
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int r = ch.read(b, pos + b.position());
      if (r < 0) {
        throw new IOException("unexpected end of file");
      }
    }
  }

  /** The file on disk; null for a file read with {@link #of(byte[], String)}. */
  public Path path() {
    return path;
  }

  /** Tensor entries in header order. */
  public Map<String, Entry> entries() {
    return entries;
  }

  /** The raw JSON header as stored in the file (for fingerprints). */
  public byte[] headerBytes() {
    return header.clone();
  }

  /** Size of the whole file in bytes. */
  public long fileSize() {
    return fileSize;
  }

  /** The {@code __metadata__} string map (empty when absent). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /**
   * Reads one tensor into the backend straight from the memory-mapped file ({@link
   * Backend#fromHost}). F32 stays F32; F16/BF16 stay 16-bit when {@code keepHalf}, otherwise they
   * are widened to F32 on the backend.
   */
  public Tensor read(String name, Backend backend, boolean keepHalf) throws IOException {
    Entry e = entry(name);
    DType dt = checkedType(e);
    // the mapped file region goes to the backend (and its device) in the stored type, no Java
    // array in between; safetensors is little-endian like every platform we run on
    ByteBuffer map = region(e);
    try {
      Tensor t = backend.fromHost(new Pointer(map), dt, e.shape);
      if (dt == DType.F32 || keepHalf) {
        return t;
      }
      try (t) {
        return backend.convert(t, DType.F32);
      }
    } finally {
      Reference.reachabilityFence(map);
    }
  }

  /** One tensor's values as floats (F16 and BF16 widened), with no backend involved. */
  public float[] floats(String name) throws IOException {
    Entry e = entry(name);
    DType dt = checkedType(e);
    long n = (e.end - e.begin) / dt.bytes();
    ByteBuffer b = region(e).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[Math.toIntExact(n)];
    for (int i = 0; i < out.length; i++) {
      out[i] =
          switch (dt) {
            case F32 -> b.getFloat();
            case F16 -> DType.f16ToFloat(b.getShort());
            case BF16 -> DType.bf16ToFloat(b.getShort());
          };
    }
    return out;
  }

  private Entry entry(String name) throws IOException {
    Entry e = entries.get(name);
    if (e == null) {
      throw new IOException(source + " has no tensor " + name);
    }
    return e;
  }

  /** The stored type of a tensor, checked against its shape and byte range. */
  private DType checkedType(Entry e) throws IOException {
    DType dt =
        switch (e.dtype) {
          case "F32" -> DType.F32;
          case "F16" -> DType.F16;
          case "BF16" -> DType.BF16;
          default ->
              throw new IOException(source + ": " + e.name + " has unsupported dtype " + e.dtype);
        };
    long n = 1;
    for (long d : e.shape) {
      n *= d;
    }
    if (e.end - e.begin != n * dt.bytes()) {
      throw new IOException(source + ": " + e.name + ": byte range does not match shape and dtype");
    }
    return dt;
  }

  /** The bytes of one tensor: mapped from the file, or a direct copy of the in-memory file's. */
  private ByteBuffer region(Entry e) throws IOException {
    long len = e.end - e.begin;
    if (channel != null) {
      return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, len);
    }
    return ByteBuffer.allocateDirect(Math.toIntExact(len))
        .put(bytes, Math.toIntExact(dataStart + e.begin), Math.toIntExact(len))
        .flip();
  }

  @Override
  public void close() throws IOException {
    if (channel != null) {
      channel.close();
    }
  }
}
