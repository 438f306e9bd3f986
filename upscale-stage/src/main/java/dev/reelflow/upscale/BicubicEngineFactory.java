package dev.reelflow.upscale;

import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;

/**
 * Engine {@code bicubic}: plain cubic resampling to the delivered size, no model. Option {@code
 * engine.bicubic.frameBatch}: frames per progress report (default 8).
 */
public final class BicubicEngineFactory implements EngineFactory {

  @Override
  public String name() {
    return "bicubic";
  }

  @Override
  public boolean providesUpscale() {
    return true;
  }

  @Override
  public UpscaleEngine createUpscale(EngineSettings settings) {
    EngineDescription d =
        new EngineDescription(name(), false, "cpu", settings.device(), "bicubic", "none");
    return new PixelUpscaleEngine(
        new BicubicUpscaler(), d, (int) settings.longOption("frameBatch", 8));
  }
}
