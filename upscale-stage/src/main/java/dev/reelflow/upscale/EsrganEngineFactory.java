package dev.reelflow.upscale;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.BackendUnavailableException;
import dev.reelflow.engine.backend.Backends;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;
import java.nio.file.Paths;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Engine {@code esrgan}: a pretrained UpscalerJS ESRGAN on an engine backend. Worker config keys
 * (prefix {@code engine.esrgan.}):
 *
 * <ul>
 *   <li>{@code weights}: {@code auto} (default): esrgan-thick, the set that beats bicubic on
 *       natural photos (QualityTest), from {@code modelsDir} or from this build; when neither has
 *       it (the build could not fetch it) the engine resamples with bicubic and says so in its
 *       description and the log, never slim, which scores below bicubic. {@code thick} or {@code
 *       slim} pick a set explicitly (slim is committed and about 30 times cheaper).
 *   <li>{@code modelsDir}: folder with x2/x3/x4/x8 model folders of the chosen set (default: this
 *       build's copy)
 *   <li>{@code scale}: 0 = smallest network scale that covers the target (default), or 2/3/4/8
 *   <li>{@code tileSize}: tile side in input pixels (default 256)
 *   <li>{@code maxMargin}: upper bound of the tile overlap (default 24)
 *   <li>{@code threads}: CPU threads of the backend (default: available processors)
 *   <li>{@code frameBatch}: frames per device batch and per progress report (default 1)
 * </ul>
 *
 * <p>The network runs on the worker slot's tensor backend ({@code backend} in the worker config,
 * {@link EngineSettings#backend()}): {@code cpu} (OpenBLAS), {@code torch} (libtorch on the CPU) or
 * {@code cuda[:N]} (libtorch on GPU N; the frames of a batch go to the device together).
 */
public final class EsrganEngineFactory implements EngineFactory {
  private static final Logger LOG = LoggerFactory.getLogger(EsrganEngineFactory.class);

  @Override
  public String name() {
    return "esrgan";
  }

  @Override
  public boolean providesUpscale() {
    return true;
  }

  @Override
  public UpscaleEngine createUpscale(EngineSettings settings) throws EngineException {
    String w = settings.option("weights").orElse("auto").trim().toLowerCase(Locale.ROOT);
    boolean haveDir = settings.option("modelsDir").isPresent();
    int frameBatch = (int) settings.longOption("frameBatch", 1);
    if (frameBatch < 1) {
      throw new IllegalArgumentException("engine.esrgan.frameBatch must be >= 1: " + frameBatch);
    }
    EsrganWeights weights =
        switch (w) {
          case "auto" -> haveDir || EsrganWeights.THICK.bundled() ? EsrganWeights.THICK : null;
          case "slim", "esrgan-slim" -> EsrganWeights.SLIM;
          case "thick", "esrgan-thick" -> EsrganWeights.THICK;
          default ->
              throw new IllegalArgumentException(
                  "engine.esrgan.weights must be auto, thick or slim, got '" + w + "'");
        };
    if (weights == null) {
      LOG.warn(
          "esrgan: weights=auto but esrgan-thick is not in this build (the build could not fetch"
              + " {}) and engine.esrgan.modelsDir is not set: upscaling with BICUBIC resampling."
              + " Build with npm available, or set engine.esrgan.modelsDir.",
          EsrganWeights.THICK.npmPackage());
      EngineDescription d =
          new EngineDescription(
              name(),
              false,
              "cpu",
              settings.device(),
              "bicubic (esrgan-thick is not in this build)",
              "none");
      return new PixelUpscaleEngine(new BicubicUpscaler(), d, frameBatch);
    }
    int threads = (int) settings.longOption("threads", Runtime.getRuntime().availableProcessors());
    EsrganUpscaler.Builder b =
        EsrganUpscaler.builder()
            .weights(weights)
            .scale((int) settings.longOption("scale", 0))
            .tileSize((int) settings.longOption("tileSize", 256))
            .maxMargin((int) settings.longOption("maxMargin", 24))
            .threads(threads)
            .ownBackend(openBackend(settings.backend(), threads));
    settings.option("modelsDir").ifPresent(d -> b.modelsDir(Paths.get(d)));
    EsrganUpscaler up;
    try {
      up = b.build();
    } catch (IllegalArgumentException e) {
      b.closeBackend();
      throw EngineException.engineError(e.getMessage(), e);
    }
    try {
      // load the weights now, so that a broken model folder fails the worker at start
      up.network(up.scaleFor(848, 480, 1920, 1080));
    } catch (ModelFormatException e) {
      up.close();
      throw EngineException.engineError(e.getMessage(), e);
    }
    EngineDescription d =
        new EngineDescription(
            name(),
            false,
            up.backend().name(),
            settings.device(),
            weights.id() + " (RDN/RRDN super-resolution, TF.js layers port)",
            weights.npmPackage() + " (MIT, pretrained)");
    return new PixelUpscaleEngine(up, d, frameBatch);
  }

  /**
   * The slot's tensor backend, opened by the engine's {@link Backends}; {@code cuda} without a
   * usable GPU fails here saying what is missing, never falling back to the CPU.
   */
  static Backend openBackend(BackendSpec spec, int threads) throws EngineException {
    try {
      return Backends.open(spec, threads);
    } catch (BackendUnavailableException e) {
      throw EngineException.engineError(
          "esrgan: backend " + spec + " cannot be opened: " + e.getMessage(), e);
    }
  }
}
