package dev.reelflow.upscale;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.Setting;
import dev.reelflow.worker.spi.EngineDescription;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;

/** Engine {@code bicubic}: plain cubic resampling to the delivered size, no model. */
public final class BicubicEngineFactory implements EngineFactory {

  static final Setting<Integer> FRAME_BATCH =
      Setting.integer("frame-batch")
          .defaultValue("8")
          .check(n -> n >= 1, ">= 1")
          .doc("Frames per progress report.")
          .oldName("frameBatch")
          .build();

  /** The options, {@code engine.bicubic.*}. */
  static final ConfigSpec OPTIONS = ConfigSpec.builder("engine bicubic").add(FRAME_BATCH).build();

  @Override
  public ConfigSpec optionSpec() {
    return OPTIONS;
  }

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
    int frameBatch = settings.options(OPTIONS).get(FRAME_BATCH);
    EngineDescription d =
        new EngineDescription(name(), false, "cpu", settings.device(), "bicubic", "none");
    return new PixelUpscaleEngine(new BicubicUpscaler(), d, frameBatch);
  }
}
