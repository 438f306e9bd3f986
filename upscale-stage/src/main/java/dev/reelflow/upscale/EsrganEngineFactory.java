package dev.reelflow.upscale;

import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;
import java.nio.file.Paths;
import java.util.Locale;

/**
 * Engine {@code esrgan}: a pretrained UpscalerJS ESRGAN on the CPU backend. Worker config keys
 * (prefix {@code engine.esrgan.}):
 *
 * <ul>
 *   <li>{@code weights}: {@code slim} (default, bundled) or {@code thick} (needs {@code modelsDir})
 *   <li>{@code modelsDir}: folder with x2/x3/x4/x8 model folders (default: bundled slim)
 *   <li>{@code scale}: 0 = smallest network scale that covers the target (default), or 2/3/4/8
 *   <li>{@code tileSize}: tile side in input pixels (default 256)
 *   <li>{@code maxMargin}: upper bound of the tile overlap (default 24)
 *   <li>{@code threads}: tile threads (default: available processors)
 *   <li>{@code frameBatch}: frames per progress report (default 1)
 * </ul>
 */
public final class EsrganEngineFactory implements EngineFactory {

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
    String w = settings.option("weights").orElse("slim").trim().toLowerCase(Locale.ROOT);
    EsrganWeights weights =
        switch (w) {
          case "slim", "esrgan-slim" -> EsrganWeights.SLIM;
          case "thick", "esrgan-thick" -> EsrganWeights.THICK;
          default ->
              throw new IllegalArgumentException(
                  "engine.esrgan.weights must be slim or thick, got '" + w + "'");
        };
    EsrganUpscaler.Builder b =
        EsrganUpscaler.builder()
            .weights(weights)
            .scale((int) settings.longOption("scale", 0))
            .tileSize((int) settings.longOption("tileSize", 256))
            .maxMargin((int) settings.longOption("maxMargin", 24))
            .threads(
                (int) settings.longOption("threads", Runtime.getRuntime().availableProcessors()));
    settings.option("modelsDir").ifPresent(d -> b.modelsDir(Paths.get(d)));
    EsrganUpscaler up;
    try {
      up = b.build();
      // load the weights now, so that a broken model folder fails the worker at start
      up.network(up.scaleFor(848, 480, 1920, 1080));
    } catch (ModelFormatException e) {
      throw EngineException.engineError(e.getMessage(), e);
    }
    EngineDescription d =
        new EngineDescription(
            name(),
            false,
            "cpu",
            settings.device(),
            weights.id() + " (RDN/RRDN super-resolution, TF.js layers port)",
            weights.npmPackage() + " (MIT, pretrained)");
    return new PixelUpscaleEngine(up, d, (int) settings.longOption("frameBatch", 1));
  }
}
