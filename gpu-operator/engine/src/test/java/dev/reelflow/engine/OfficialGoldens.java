package dev.reelflow.engine;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.SafetensorsWriter;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Goldens produced by the official HunyuanVideo-1.5 code (tools/make_official_vae_sr_goldens.py),
 * under {@code /engine/official/}, and the name-seeded parameter values that script filled the
 * official modules with, regenerated here bit for bit.
 */
public final class OfficialGoldens implements AutoCloseable {
  private final SafetensorsFile file;
  private final Backend be;

  private OfficialGoldens(SafetensorsFile file, Backend be) {
    this.file = file;
    this.be = be;
  }

  public static OfficialGoldens open(String name, Backend be) {
    try {
      Path p = Path.of(OfficialGoldens.class.getResource("/engine/official/" + name).toURI());
      return new OfficialGoldens(SafetensorsFile.open(p), be);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  public Tensor tensor(String name) {
    try {
      return file.read(name, be, false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public float[] array(String name) {
    try (Tensor t = tensor(name)) {
      return be.toArray(t);
    }
  }

  public long[] shape(String name) {
    return file.entries().get(name).shape();
  }

  /** A JSON object from the file's metadata (model configs in config.json key names). */
  @SuppressWarnings("unchecked")
  public Map<String, Object> json(String key) {
    String v = file.metadata().get(key);
    if (v == null) {
      throw new IllegalArgumentException("no metadata " + key + " in " + file.path());
    }
    return (Map<String, Object>) Json.parse(v);
  }

  /** A JSON array of strings from the metadata (e.g. an official module's state-dict keys). */
  @SuppressWarnings("unchecked")
  public List<String> names(String key) {
    return (List<String>) Json.parse(file.metadata().get(key));
  }

  public String meta(String key) {
    return file.metadata().get(key);
  }

  @Override
  public void close() {
    try {
      file.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The generator's det(): x0 = crc32(name) mod 2^31, x = (1103515245 x + 12345) mod 2^31, u = 2 x
   * / 2^31 - 1; kind "w": u / sqrt(fan_in), "gamma": 1 + 0.2 u, "bias": 0.05 u, "unit": u.
   */
  public static float[] det(String name, long[] shape, String kind) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    long fanIn = shape.length > 1 ? n / shape[0] : 1;
    CRC32 crc = new CRC32();
    crc.update(name.getBytes(StandardCharsets.UTF_8));
    long x = crc.getValue() % 2147483648L;
    float[] out = new float[Math.toIntExact(n)];
    for (int i = 0; i < out.length; i++) {
      x = (1103515245L * x + 12345L) % 2147483648L;
      double u = 2.0 * (x / 2147483648.0) - 1.0;
      double v =
          switch (kind) {
            case "w" -> u / Math.sqrt(fanIn);
            case "gamma" -> 1.0 + 0.2 * u;
            case "bias" -> 0.05 * u;
            default -> u;
          };
      out[i] = (float) v;
    }
    return out;
  }

  /** det() values for every parameter, by the generator's rule (".gamma", ".bias", else "w"). */
  public static float[] detParam(ParamSpec p) {
    String kind = p.name().endsWith(".gamma") ? "gamma" : p.name().endsWith(".bias") ? "bias" : "w";
    return det(p.name(), p.shape(), kind);
  }

  /**
   * Writes det() values for {@code specs} as a safetensors checkpoint and loads it: the official
   * module's weights in the generator run, through the engine's own loading path.
   */
  public static WeightSet detWeights(List<ParamSpec> specs, Backend be, Path dir) {
    try {
      Path f = Files.createTempFile(dir, "det", ".safetensors");
      SafetensorsWriter w = new SafetensorsWriter();
      for (ParamSpec p : specs) {
        w.add(p.name(), p.shape(), detParam(p));
      }
      try (OutputStream out = Files.newOutputStream(f)) {
        w.writeTo(out);
      }
      return WeightSet.load(specs, List.of(f), be, false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Largest absolute difference. */
  public static double maxDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }
}
