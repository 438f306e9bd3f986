package dev.reelflow.upscale;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Setting;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Engine {@code esrgan}: a pretrained UpscalerJS ESRGAN on an engine backend; options {@link
 * #OPTIONS}. The network runs on the worker slot's tensor backend ({@code backend} in the worker
 * config, {@link EngineSettings#backend()}): {@code cpu} (OpenBLAS), {@code torch} (libtorch on the
 * CPU) or {@code cuda[:N]} (libtorch on GPU N; the frames of a batch go to the device together).
 */
public final class EsrganEngineFactory implements EngineFactory {
  private static final Logger LOG = LoggerFactory.getLogger(EsrganEngineFactory.class);

  static final Setting<String> WEIGHTS =
      Setting.choice("weights", "auto", "thick", "slim", "esrgan-thick", "esrgan-slim")
          .defaultValue("auto")
          .doc(
              "auto: esrgan-thick, the set that beats bicubic on natural photos (QualityTest),"
                  + " from models-dir or from this build; when neither has it the engine resamples"
                  + " with bicubic and says so in its description and the log, never slim, which"
                  + " scores below bicubic. thick or slim pick a set (slim is committed and about"
                  + " 30 times cheaper).")
          .build();
  static final Setting<String> MODELS_DIR =
      Setting.string("models-dir")
          .doc("Folder with the x2/x3/x4/x8 model folders of the chosen set; default this build's.")
          .oldName("modelsDir")
          .build();
  static final Setting<Integer> SCALE =
      Setting.integer("scale")
          .defaultValue("0")
          .check(n -> n == 0 || n == 2 || n == 3 || n == 4 || n == 8, "0, 2, 3, 4 or 8")
          .doc("Network scale: 0 = the smallest of x2/x3/x4/x8 that covers the target.")
          .build();
  static final Setting<Integer> TILE_SIZE =
      Setting.integer("tile-size")
          .defaultValue("256")
          .check(n -> n >= 16, ">= 16")
          .doc("Tile side in input pixels.")
          .oldName("tileSize")
          .build();
  static final Setting<Integer> MAX_MARGIN =
      Setting.integer("max-margin")
          .defaultValue("24")
          .check(n -> n >= 0, ">= 0")
          .doc("Upper bound of the tile overlap, in input pixels.")
          .oldName("maxMargin")
          .build();
  static final Setting<Integer> FRAME_BATCH =
      Setting.integer("frame-batch")
          .defaultValue("1")
          .check(n -> n >= 1, ">= 1")
          .doc("Frames per device batch and per progress report.")
          .oldName("frameBatch")
          .build();

  /** The options, {@code engine.esrgan.*}. */
  static final ConfigSpec OPTIONS =
      ConfigSpec.builder("engine esrgan")
          .add(
              WEIGHTS,
              MODELS_DIR,
              SCALE,
              TILE_SIZE,
              MAX_MARGIN,
              EngineSettings.THREADS,
              FRAME_BATCH)
          .build();

  @Override
  public ConfigSpec optionSpec() {
    return OPTIONS;
  }

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
    ConfigValues o = settings.options(OPTIONS);
    String w = o.get(WEIGHTS);
    String modelsDir = o.get(MODELS_DIR);
    boolean haveDir = modelsDir != null;
    int frameBatch = o.get(FRAME_BATCH);
    EsrganWeights weights =
        switch (w) {
          case "auto" -> haveDir || EsrganWeights.THICK.bundled() ? EsrganWeights.THICK : null;
          case "slim", "esrgan-slim" -> EsrganWeights.SLIM;
          case "thick", "esrgan-thick" -> EsrganWeights.THICK;
          default -> throw new IllegalStateException("not a weights choice: " + w);
        };
    if (weights == null) {
      LOG.warn(
          "esrgan: weights=auto but esrgan-thick is not in this build (the build could not fetch"
              + " {}) and engine.esrgan.models-dir is not set: upscaling with BICUBIC resampling."
              + " Build with npm available, or set engine.esrgan.models-dir.",
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
    int threads = EngineSettings.threads(o);
    EsrganUpscaler.Builder b =
        EsrganUpscaler.builder()
            .weights(weights)
            .scale(o.get(SCALE))
            .tileSize(o.get(TILE_SIZE))
            .maxMargin(o.get(MAX_MARGIN))
            .threads(threads)
            .ownBackend(openBackend(settings.backend(), threads));
    if (haveDir) {
      b.modelsDir(Paths.get(modelsDir));
    }
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
