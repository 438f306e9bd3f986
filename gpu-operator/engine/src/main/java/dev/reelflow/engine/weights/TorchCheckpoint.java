package dev.reelflow.engine.weights;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.Tensor;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A restricted reader of PyTorch's zip checkpoint format ({@code torch.save} since 1.6: {@code
 * <archive>/data.pkl}, a pickle whose tensors point at {@code <archive>/data/<key>} storages) for
 * files that hold a state dict. Unlike Python's unpickler it never executes anything: it interprets
 * the pickle opcodes itself and allows only the globals a state dict needs (the {@code OrderedDict}
 * class, {@code torch._utils._rebuild_tensor_v2} and {@code _rebuild_parameter}, the typed storage
 * classes); any other global, or an opcode outside pickle protocol 2-4's data subset, is refused
 * with a {@link WeightLoadException} naming it. Tensor data is read only when asked for.
 *
 * <pre>{@code
 * try (TorchCheckpoint ck = TorchCheckpoint.open(path)) {
 *   ck.entries();                      // name -> dtype, shape (safetensors-style entries)
 *   Tensor t = ck.read("embed_tokens.weight", backend);
 * }
 * }</pre>
 */
public final class TorchCheckpoint implements AutoCloseable {
  private static final Set<String> STORAGES =
      Set.of(
          "FloatStorage",
          "HalfStorage",
          "BFloat16Storage",
          "DoubleStorage",
          "LongStorage",
          "IntStorage",
          "ShortStorage",
          "CharStorage",
          "ByteStorage",
          "BoolStorage");

  private record Global(String module, String name) {}

  private record StorageRef(String type, String key, long numel) {}

  private record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {}

  private final Path path;
  private final ZipFile zip;
  private final String archive;
  private final Map<String, TensorRef> tensors;
  private final Map<String, SafetensorsFile.Entry> entries;

  private TorchCheckpoint(Path path, ZipFile zip, String archive, Map<String, TensorRef> tensors) {
    this.path = path;
    this.zip = zip;
    this.archive = archive;
    this.tensors = tensors;
    Map<String, SafetensorsFile.Entry> e = new LinkedHashMap<>();
    tensors.forEach(
        (name, t) ->
            e.put(
                name,
                new SafetensorsFile.Entry(name, dtypeName(t.storage.type), t.shape, t.offset, -1)));
    this.entries = Collections.unmodifiableMap(e);
  }

  /**
   * Opens a checkpoint and reads its pickle (not the tensor data). A top-level dict with a {@code
   * state_dict} entry is unwrapped as the official Glyph loader does: only its keys under {@code
   * module.text_tower.encoder.} are kept, without that prefix.
   *
   * @throws WeightLoadException for a file that is not a zip checkpoint, a global outside the
   *     allowed set, or a pickle that is not a dict of tensors
   */
  public static TorchCheckpoint open(Path path) {
    byte[] magic = new byte[4];
    try (InputStream in = Files.newInputStream(path)) {
      if (in.readNBytes(magic, 0, 4) < 4 || magic[0] != 'P' || magic[1] != 'K') {
        throw new WeightLoadException(
            path
                + " is not a PyTorch zip checkpoint (torch.save since 1.6); the legacy format is"
                + " not read: convert the state dict to safetensors instead",
            null);
      }
    } catch (IOException e) {
      throw new WeightLoadException("cannot read " + path + ": " + e.getMessage(), e);
    }
    ZipFile zip;
    try {
      zip = new ZipFile(path.toFile());
    } catch (IOException e) {
      throw new WeightLoadException(path + " is not a readable zip archive: " + e, e);
    }
    try {
      ZipEntry pkl = null;
      for (var it = zip.entries(); it.hasMoreElements(); ) {
        ZipEntry z = it.nextElement();
        if (z.getName().endsWith("/data.pkl")
            && z.getName().indexOf('/') == z.getName().length() - 9) {
          pkl = z;
        }
      }
      if (pkl == null) {
        throw new WeightLoadException(
            path + " has no <archive>/data.pkl: not a torch.save file", null);
      }
      String archive = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
      ZipEntry order = zip.getEntry(archive + "byteorder");
      if (order != null) {
        try (InputStream in = zip.getInputStream(order)) {
          String bo = new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
          if (!bo.equals("little")) {
            throw new WeightLoadException(path + " stores " + bo + "-endian tensors", null);
          }
        }
      }
      Object root;
      try (InputStream in = zip.getInputStream(pkl)) {
        root = new Unpickler(in.readAllBytes(), path).load();
      }
      return new TorchCheckpoint(path, zip, archive, stateDict(root, path));
    } catch (IOException | RuntimeException e) {
      try {
        zip.close();
      } catch (IOException ignored) {
        // reading only
      }
      if (e instanceof WeightLoadException w) {
        throw w;
      }
      throw new WeightLoadException("cannot read " + path + ": " + e, e);
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, TensorRef> stateDict(Object root, Path path) {
    if (!(root instanceof Map<?, ?> m)) {
      throw new WeightLoadException(path + " does not hold a dict (a state dict)", null);
    }
    Map<Object, Object> map = (Map<Object, Object>) m;
    String strip = null;
    if (map.get("state_dict") instanceof Map<?, ?> inner) {
      map = (Map<Object, Object>) inner;
      strip = "module.text_tower.encoder.";
    }
    Map<String, TensorRef> out = new LinkedHashMap<>();
    for (var e : map.entrySet()) {
      if (!(e.getKey() instanceof String name)) {
        throw new WeightLoadException(
            path + ": a state dict key is not a string: " + e.getKey(), null);
      }
      if (strip != null) {
        if (!name.startsWith(strip)) {
          continue;
        }
        name = name.substring(strip.length());
      }
      if (!(e.getValue() instanceof TensorRef t)) {
        throw new WeightLoadException(
            path + ": entry " + name + " is not a tensor (" + describe(e.getValue()) + ")", null);
      }
      out.put(name, t);
    }
    return out;
  }

  private static String describe(Object o) {
    return o == null ? "None" : o.getClass().getSimpleName();
  }

  private static String dtypeName(String storage) {
    return switch (storage) {
      case "FloatStorage" -> "F32";
      case "HalfStorage" -> "F16";
      case "BFloat16Storage" -> "BF16";
      case "DoubleStorage" -> "F64";
      case "LongStorage" -> "I64";
      case "IntStorage" -> "I32";
      case "ShortStorage" -> "I16";
      case "CharStorage" -> "I8";
      case "ByteStorage" -> "U8";
      default -> "BOOL";
    };
  }

  public Path path() {
    return path;
  }

  /** The tensors as safetensors-style entries (dtype names F32, F16, BF16, ...; no offsets). */
  public Map<String, SafetensorsFile.Entry> entries() {
    return entries;
  }

  /**
   * Reads one tensor into the backend: F32 as F32, F16/BF16 widened to F32 unless {@code keepHalf}.
   *
   * @throws WeightLoadException for other dtypes, non-contiguous tensors or truncated storages
   */
  public Tensor read(String name, Backend backend, boolean keepHalf) {
    TensorRef t = tensors.get(name);
    if (t == null) {
      throw new WeightLoadException(path + " has no tensor " + name, null);
    }
    String dt = dtypeName(t.storage.type);
    if (!WeightCheck.READABLE_DTYPES.contains(dt)) {
      throw new WeightLoadException(
          name + ": stored as " + dt + "; the engine reads F32, F16 or BF16", null);
    }
    long n = 1;
    long expect = 1;
    for (int i = t.shape.length - 1; i >= 0; i--) {
      if (t.shape[i] != 1 && t.stride[i] != expect) {
        throw new WeightLoadException(
            name + ": not a contiguous row-major tensor (stride " + Arrays.toString(t.stride) + ")",
            null);
      }
      expect *= t.shape[i];
      n *= t.shape[i];
    }
    if (t.offset + n > t.storage.numel) {
      throw new WeightLoadException(name + ": lies outside its storage", null);
    }
    int width = dt.equals("F32") ? 4 : 2;
    ZipEntry z = zip.getEntry(archive + "data/" + t.storage.key);
    if (z == null) {
      throw new WeightLoadException(
          path + ": storage " + t.storage.key + " of " + name + " is missing", null);
    }
    byte[] bytes;
    try (InputStream in = zip.getInputStream(z)) {
      in.skipNBytes(t.offset * width);
      bytes = in.readNBytes(Math.toIntExact(n * width));
    } catch (IOException e) {
      throw new WeightLoadException("cannot read " + name + " from " + path + ": " + e, e);
    }
    if (bytes.length != n * width) {
      throw new WeightLoadException(name + ": storage " + t.storage.key + " is truncated", null);
    }
    ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (width == 4) {
      float[] f = new float[(int) n];
      bb.asFloatBuffer().get(f);
      return backend.fromArray(f, t.shape);
    }
    short[] s = new short[(int) n];
    bb.asShortBuffer().get(s);
    DType type = dt.equals("BF16") ? DType.BF16 : DType.F16;
    Tensor half = backend.fromBits(type, s, t.shape);
    if (keepHalf) {
      return half;
    }
    try (half) {
      return backend.convert(half, DType.F32);
    }
  }

  @Override
  public void close() {
    try {
      zip.close();
    } catch (IOException ignored) {
      // reading only
    }
  }

  /** Interprets the data subset of the pickle protocol with an allow-list of globals. */
  private static final class Unpickler {
    private static final Object MARK = new Object();
    private final DataInputStream in;
    private final Path path;
    private final List<Object> stack = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    Unpickler(byte[] data, Path path) {
      this.in = new DataInputStream(new java.io.ByteArrayInputStream(data));
      this.path = path;
    }

    private WeightLoadException refuse(String what) {
      return new WeightLoadException(
          path
              + ": refused "
              + what
              + "; only a state dict (OrderedDict of tensors) is read from PyTorch checkpoints",
          null);
    }

    Object load() throws IOException {
      while (true) {
        int op = in.read();
        switch (op) {
          case -1 -> throw refuse("a pickle without STOP");
          case 0x80 -> in.readUnsignedByte(); // PROTO
          case 0x95 -> in.skipNBytes(8); // FRAME
          case '.' -> {
            return pop();
          }
          case '}' -> stack.add(new LinkedHashMap<Object, Object>());
          case ']' -> stack.add(new ArrayList<Object>());
          case ')' -> stack.add(List.of());
          case '(' -> stack.add(MARK);
          case 'N' -> stack.add(null);
          case 0x88 -> stack.add(Boolean.TRUE);
          case 0x89 -> stack.add(Boolean.FALSE);
          case 'K' -> stack.add((long) in.readUnsignedByte());
          case 'M' -> stack.add((long) (in.readUnsignedByte() | in.readUnsignedByte() << 8));
          case 'J' -> stack.add((long) Integer.reverseBytes(in.readInt()));
          case 0x8a -> stack.add(long1(in.readUnsignedByte()));
          case 'G' -> stack.add(in.readDouble());
          case 'X' -> stack.add(utf8(Integer.reverseBytes(in.readInt())));
          case 0x8c -> stack.add(utf8(in.readUnsignedByte()));
          case 'U', 'C' -> stack.add(utf8(in.readUnsignedByte()));
          case 'T', 'B' -> stack.add(utf8(Integer.reverseBytes(in.readInt())));
          case 'q' -> memo.put((long) in.readUnsignedByte(), peek());
          case 'r' -> memo.put(Integer.toUnsignedLong(Integer.reverseBytes(in.readInt())), peek());
          case 0x94 -> memo.put((long) memo.size(), peek());
          case 'h' -> stack.add(memo(in.readUnsignedByte()));
          case 'j' -> stack.add(memo(Integer.toUnsignedLong(Integer.reverseBytes(in.readInt()))));
          case 'c' -> stack.add(global(line(), line()));
          case 0x93 -> {
            String name = (String) pop();
            String module = (String) pop();
            stack.add(global(module, name));
          }
          case 't' -> stack.add(List.copyOf(popMark()));
          case 0x85 -> stack.add(tuple(1));
          case 0x86 -> stack.add(tuple(2));
          case 0x87 -> stack.add(tuple(3));
          case 'Q' -> stack.add(persistent(pop()));
          case 'R' -> {
            Object args = pop();
            Object fn = pop();
            stack.add(reduce(fn, args));
          }
          case 's' -> {
            Object v = pop();
            Object k = pop();
            dict(peek()).put(k, v);
          }
          case 'u' -> {
            List<Object> items = popMark();
            Map<Object, Object> d = dict(peek());
            for (int i = 0; i + 1 < items.size(); i += 2) {
              d.put(items.get(i), items.get(i + 1));
            }
          }
          case 'a' -> {
            Object v = pop();
            list(peek()).add(v);
          }
          case 'e' -> {
            List<Object> items = popMark();
            list(peek()).addAll(items);
          }
          case 'b' -> {
            pop(); // the state of an OrderedDict (its _metadata attribute): not needed
            if (!(peek() instanceof Map<?, ?>)) {
              throw refuse("BUILD on " + describe(peek()));
            }
          }
          default -> throw refuse(String.format("pickle opcode 0x%02x", op));
        }
      }
    }

    private Object pop() {
      if (stack.isEmpty()) {
        throw refuse("a malformed pickle (stack underflow)");
      }
      return stack.remove(stack.size() - 1);
    }

    private Object peek() {
      if (stack.isEmpty()) {
        throw refuse("a malformed pickle (empty stack)");
      }
      return stack.get(stack.size() - 1);
    }

    private Object memo(long i) {
      if (!memo.containsKey(i)) {
        throw refuse("a malformed pickle (memo " + i + ")");
      }
      return memo.get(i);
    }

    private List<Object> popMark() {
      int i = stack.lastIndexOf(MARK);
      if (i < 0) {
        throw refuse("a malformed pickle (no MARK)");
      }
      List<Object> items = new ArrayList<>(stack.subList(i + 1, stack.size()));
      stack.subList(i, stack.size()).clear();
      return items;
    }

    private List<Object> tuple(int n) {
      Object[] t = new Object[n];
      for (int i = n - 1; i >= 0; i--) {
        t[i] = pop();
      }
      return Collections.unmodifiableList(Arrays.asList(t));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
      if (!(o instanceof Map<?, ?> m)) {
        throw refuse("SETITEM on " + describe(o));
      }
      return (Map<Object, Object>) m;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
      if (!(o instanceof ArrayList<?> l)) {
        throw refuse("APPEND on " + describe(o));
      }
      return (List<Object>) l;
    }

    private long long1(int n) throws IOException {
      byte[] b = in.readNBytes(n);
      if (n > 8) {
        throw refuse("an integer of " + n + " bytes");
      }
      long v = 0;
      for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | (b[i] & 0xff);
      }
      if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) {
        v -= 1L << (8 * n);
      }
      return v;
    }

    private String utf8(int n) throws IOException {
      return new String(in.readNBytes(n), StandardCharsets.UTF_8);
    }

    private String line() throws IOException {
      StringBuilder b = new StringBuilder();
      int c;
      while ((c = in.read()) != '\n') {
        if (c < 0) {
          throw refuse("a malformed GLOBAL");
        }
        b.append((char) c);
      }
      return b.toString();
    }

    private Global global(String module, String name) {
      boolean ok =
          (module.equals("collections") && name.equals("OrderedDict"))
              || (module.equals("torch._utils")
                  && (name.equals("_rebuild_tensor_v2") || name.equals("_rebuild_parameter")))
              || (module.equals("torch") && STORAGES.contains(name));
      if (!ok) {
        throw refuse("the global " + module + "." + name);
      }
      return new Global(module, name);
    }

    private Object persistent(Object pid) {
      if (pid instanceof List<?> t
          && t.size() == 5
          && "storage".equals(t.get(0))
          && t.get(1) instanceof Global g
          && STORAGES.contains(g.name())
          && t.get(2) instanceof String key
          && t.get(4) instanceof Long numel) {
        return new StorageRef(g.name(), key, numel);
      }
      throw refuse("the persistent id " + pid);
    }

    private Object reduce(Object fn, Object args) {
      if (!(fn instanceof Global g) || !(args instanceof List<?> a)) {
        throw refuse("a call of " + describe(fn));
      }
      switch (g.name()) {
        case "OrderedDict" -> {
          if (!a.isEmpty()) {
            throw refuse("OrderedDict with arguments");
          }
          return new LinkedHashMap<Object, Object>();
        }
        case "_rebuild_tensor_v2" -> {
          if (a.size() < 4
              || !(a.get(0) instanceof StorageRef s)
              || !(a.get(1) instanceof Long off)
              || !(a.get(2) instanceof List<?> size)
              || !(a.get(3) instanceof List<?> stride)) {
            throw refuse("_rebuild_tensor_v2 with unexpected arguments");
          }
          return new TensorRef(s, off, longs(size), longs(stride));
        }
        case "_rebuild_parameter" -> {
          if (a.isEmpty() || !(a.get(0) instanceof TensorRef t)) {
            throw refuse("_rebuild_parameter without a tensor");
          }
          return t;
        }
        default -> throw refuse("a call of " + g.module() + "." + g.name());
      }
    }

    private long[] longs(List<?> l) {
      long[] out = new long[l.size()];
      for (int i = 0; i < out.length; i++) {
        if (!(l.get(i) instanceof Long v)) {
          throw refuse("a tensor size of " + describe(l.get(i)));
        }
        out[i] = v;
      }
      return out;
    }
  }
}
