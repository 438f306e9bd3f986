package dev.reelflow.worker.spi;

import dev.reelflow.config.ConfigSpec;

/**
 * Creates engines by name. Register an implementation with {@link java.util.ServiceLoader} (file
 * {@code META-INF/services/dev.reelflow.worker.spi.EngineFactory}) or with {@link
 * EngineRegistry.Builder#register}. A factory may offer a base engine, an upscale engine or both.
 */
public interface EngineFactory {

  /** Name selected by the worker config key {@code engine}, e.g. {@code esrgan}. */
  String name();

  /**
   * The options this engine reads, {@code engine.<name>.*} without the prefix, each declared once
   * as a {@link dev.reelflow.config.Setting} (the README's tables are generated from them); read
   * them with {@link EngineSettings#options(ConfigSpec)}. Default: no options.
   */
  default ConfigSpec optionSpec() {
    return ConfigSpec.builder("engine " + name()).build();
  }

  /** True when this factory creates {@link BaseVideoEngine}s. */
  default boolean providesBase() {
    return false;
  }

  /** True when this factory creates {@link UpscaleEngine}s. */
  default boolean providesUpscale() {
    return false;
  }

  /** Creates a base engine; called once per worker slot. */
  default BaseVideoEngine createBase(EngineSettings settings) throws EngineException {
    throw new UnsupportedOperationException("engine '" + name() + "' has no base-stage engine");
  }

  /** Creates an upscale engine; called once per worker slot. */
  default UpscaleEngine createUpscale(EngineSettings settings) throws EngineException {
    throw new UnsupportedOperationException("engine '" + name() + "' has no upscale engine");
  }
}
