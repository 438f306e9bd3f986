package dev.reelflow.engine.checkpoint;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.SafetensorsFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The safetensors weights of one checkpoint component folder: either one {@code *.safetensors}
 * file, or shards named by a {@code *.safetensors.index.json} ({@code weight_map}: tensor name to
 * shard file). {@link #problems()} lists what is inconsistent (a shard the index names that is
 * absent, a tensor the index puts in a shard that lacks it or a shard tensor the index does not
 * name, a stray file) without reading tensor data.
 */
@EngineApi
public final class WeightFiles {
  private final Path dir;
  private final Path index;
  private final List<Path> files;
  private final Map<String, String> weightMap;
  private final List<String> problems;

  private WeightFiles(
      Path dir,
      Path index,
      List<Path> files,
      Map<String, String> weightMap,
      List<String> problems) {
    this.dir = dir;
    this.index = index;
    this.files = List.copyOf(files);
    this.weightMap = weightMap;
    this.problems = List.copyOf(problems);
  }

  /**
   * Finds the weights in {@code dir}.
   *
   * @throws ModelFolderException if the folder holds no weights at all, several files without an
   *     index, several index files, or an unreadable index
   */
  public static WeightFiles in(Path dir) {
    List<Path> safetensors = new ArrayList<>();
    List<Path> indexes = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(Files::isRegularFile)
          .sorted()
          .forEach(
              p -> {
                String n = p.getFileName().toString();
                if (n.endsWith(".safetensors.index.json")) {
                  indexes.add(p);
                } else if (n.endsWith(".safetensors")) {
                  safetensors.add(p);
                }
              });
    } catch (IOException e) {
      throw new ModelFolderException(dir + ": cannot list the folder: " + e.getMessage(), e);
    }
    if (indexes.size() > 1) {
      throw new ModelFolderException(
          dir + " holds several index files " + names(indexes) + "; keep one");
    }
    List<String> problems = new ArrayList<>();
    if (indexes.isEmpty()) {
      if (safetensors.isEmpty()) {
        throw new ModelFolderException(
            dir + " holds no .safetensors weights; download the checkpoint's weight files");
      }
      if (safetensors.size() > 1) {
        throw new ModelFolderException(
            dir
                + " holds several .safetensors files "
                + names(safetensors)
                + " but no *.safetensors.index.json naming which tensor is where");
      }
      return new WeightFiles(dir, null, safetensors, Map.of(), problems);
    }
    Path idx = indexes.get(0);
    Map<String, String> map = readWeightMap(idx);
    TreeSet<String> shards = new TreeSet<>(map.values());
    List<Path> files = new ArrayList<>();
    for (String shard : shards) {
      Path f = dir.resolve(shard);
      if (!Files.isRegularFile(f)) {
        long n = map.values().stream().filter(shard::equals).count();
        problems.add("missing shard " + shard + " (the index puts " + n + " tensor(s) there)");
      } else {
        files.add(f);
      }
    }
    for (Path p : safetensors) {
      if (!shards.contains(p.getFileName().toString())) {
        problems.add("stray file " + p.getFileName() + ": not named by " + idx.getFileName());
      }
    }
    return new WeightFiles(dir, idx, files, map, problems);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, String> readWeightMap(Path idx) {
    Object parsed;
    try {
      parsed = Json.parse(Files.readString(idx, StandardCharsets.UTF_8));
    } catch (IOException | IllegalArgumentException e) {
      throw new ModelFolderException(idx + " is not a readable index: " + e.getMessage(), e);
    }
    if (!(parsed instanceof Map<?, ?> m) || !(m.get("weight_map") instanceof Map<?, ?> wm)) {
      throw new ModelFolderException(idx + " has no weight_map object");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (var e : ((Map<String, Object>) wm).entrySet()) {
      if (!(e.getValue() instanceof String shard) || shard.contains("/") || shard.contains("\\")) {
        throw new ModelFolderException(
            idx + ": weight_map entry " + e.getKey() + " must name a shard file in the folder");
      }
      out.put(e.getKey(), shard);
    }
    return out;
  }

  private static List<String> names(List<Path> ps) {
    return ps.stream().map(p -> p.getFileName().toString()).toList();
  }

  /** The component folder. */
  public Path dir() {
    return dir;
  }

  /** The index file, or null for a single file. */
  public Path index() {
    return index;
  }

  /** The weight files present (shards in name order). */
  public List<Path> files() {
    return files;
  }

  /** Whether the weights are sharded behind an index. */
  public boolean sharded() {
    return index != null;
  }

  /** Problems found from the folder listing and the index alone. */
  public List<String> problems() {
    return problems;
  }

  /**
   * Problems between the index and the shards' headers: tensors the index places in a shard that
   * lacks them, shard tensors the index does not name. Reads headers only.
   */
  public List<String> indexProblems() {
    if (index == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    Map<String, List<String>> byShard = new TreeMap<>();
    for (Path f : files) {
      String shard = f.getFileName().toString();
      try (SafetensorsFile sf = SafetensorsFile.open(f)) {
        for (String t : sf.entries().keySet()) {
          String mapped = weightMap.get(t);
          if (mapped == null) {
            out.add("tensor " + t + " in " + shard + " is not in the index");
          } else if (!mapped.equals(shard)) {
            out.add("tensor " + t + " is in " + shard + " but the index says " + mapped);
          }
        }
        byShard.put(shard, new ArrayList<>(sf.entries().keySet()));
      } catch (IOException e) {
        out.add("unreadable shard " + shard + ": " + e.getMessage());
      }
    }
    for (var e : weightMap.entrySet()) {
      List<String> in = byShard.get(e.getValue());
      if (in != null && !in.contains(e.getKey())) {
        out.add("index puts " + e.getKey() + " in " + e.getValue() + ", which lacks it");
      }
    }
    return out;
  }

  /**
   * SHA-256 over what identifies the weights without reading them: the folder's {@code config.json}
   * bytes (when present), the index file's bytes (when sharded), and for every weight file its
   * name, size and raw safetensors header (names, dtypes, shapes and offsets of every tensor). Two
   * folders with the same files agree; a changed shape, dtype, file or config does not. Tensor
   * values are not hashed (a same-sized in-place edit goes unseen): hash the files for that.
   */
  public String fingerprint() {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try {
      Path config = dir.resolve("config.json");
      if (Files.isRegularFile(config)) {
        update(md, "config.json");
        md.update(Files.readAllBytes(config));
      }
      if (index != null) {
        update(md, index.getFileName().toString());
        md.update(Files.readAllBytes(index));
      }
      for (Path f : files) {
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
          update(md, f.getFileName().toString());
          update(md, Long.toString(sf.fileSize()));
          md.update(sf.headerBytes());
        }
      }
    } catch (IOException e) {
      throw new ModelFolderException(dir + ": cannot fingerprint: " + e.getMessage(), e);
    }
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }

  private static void update(MessageDigest md, String s) {
    md.update(s.getBytes(StandardCharsets.UTF_8));
    md.update((byte) 0);
  }

  /** Total size of the weight files in bytes. */
  public long bytes() {
    long n = 0;
    for (Path f : files) {
      try {
        n += Files.size(f);
      } catch (IOException e) {
        throw new ModelFolderException(f + ": cannot read its size: " + e.getMessage(), e);
      }
    }
    return n;
  }
}
