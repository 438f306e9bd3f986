package dev.reelflow.upscale;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Locates the esrgan-thick weights (29 MB per scale, too large to commit): the folder named by
 * system property {@code reelflow.esrgan.thick.models} or env {@code REELFLOW_ESRGAN_THICK_MODELS},
 * else a per-user cache, which is filled once with {@code npm pack @upscalerjs/esrgan-thick@1.0.0}
 * (only models/x2 is extracted). Returns null when none can be had (tests then skip, saying so).
 */
final class ThickWeights {
  private static final Logger LOG = LoggerFactory.getLogger(ThickWeights.class);
  static final String PACKAGE = "@upscalerjs/esrgan-thick@1.0.0";
  static final String HOW_TO =
      "esrgan-thick weights unavailable: run `npm pack "
          + PACKAGE
          + "` and point "
          + "-Dreelflow.esrgan.thick.models at the extracted package/models folder";
  private static Path cached;
  private static boolean tried;

  private ThickWeights() {}

  static synchronized Path modelsDir() {
    if (tried) {
      return cached;
    }
    tried = true;
    String configured = System.getProperty("reelflow.esrgan.thick.models");
    if (configured == null) {
      configured = System.getenv("REELFLOW_ESRGAN_THICK_MODELS");
    }
    if (configured != null && Files.isRegularFile(Paths.get(configured, "x2", "model.json"))) {
      return cached = Paths.get(configured);
    }
    Path cache =
        Paths.get(System.getProperty("user.home"), ".cache", "reelflow", "esrgan-thick-1.0.0");
    Path models = cache.resolve("models");
    if (Files.isRegularFile(models.resolve("x2").resolve("group1-shard7of7.bin"))) {
      return cached = models;
    }
    try {
      Files.createDirectories(cache);
      Process p =
          new ProcessBuilder("npm", "pack", PACKAGE, "--silent")
              .directory(cache.toFile())
              .redirectErrorStream(true)
              .start();
      String outText = new String(p.getInputStream().readAllBytes()).trim();
      if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
        LOG.warn("npm pack {} failed: {}", PACKAGE, outText);
        return null;
      }
      Path tgz = cache.resolve(outText.substring(outText.lastIndexOf('\n') + 1).trim());
      extractX2(tgz, models);
      Files.deleteIfExists(tgz);
      return cached = models;
    } catch (IOException e) {
      LOG.warn("cannot fetch {}: {}", PACKAGE, e.toString());
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** Minimal ustar reader: copies package/models/x2/* out of the npm tarball. */
  private static void extractX2(Path tgz, Path models) throws IOException {
    Path x2 = models.resolve("x2");
    Files.createDirectories(x2);
    try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz))) {
      byte[] header = new byte[512];
      while (in.readNBytes(header, 0, 512) == 512) {
        String name = cstring(header, 0, 100);
        if (name.isEmpty()) {
          break;
        }
        String prefix = cstring(header, 345, 155);
        if (!prefix.isEmpty()) {
          name = prefix + "/" + name;
        }
        long size = Long.parseLong(cstring(header, 124, 12).trim(), 8);
        byte[] body = in.readNBytes((int) size);
        in.readNBytes((int) ((512 - size % 512) % 512));
        if (name.startsWith("package/models/x2/")) {
          Files.write(x2.resolve(name.substring("package/models/x2/".length())), body);
        }
      }
    }
  }

  private static String cstring(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, java.nio.charset.StandardCharsets.US_ASCII);
  }
}
