package dev.reelflow.worker;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import java.util.List;

/**
 * The engines this module brings: {@code native}, {@code command}, {@code resident} (both pools)
 * and {@code emulated}.
 */
final class BuiltinEngines {

  private BuiltinEngines() {}

  static List<EngineFactory> all() {
    return List.of(
        new Simple(NativeEngine.NAME, NativeEngine.OPTIONS) {
          @Override
          public BaseVideoEngine createBase(EngineSettings s) throws EngineException {
            return new NativeEngine(s);
          }
        },
        new Simple(CommandEngine.NAME, CommandEngine.OPTIONS) {
          @Override
          public BaseVideoEngine createBase(EngineSettings s) {
            return new CommandEngine(s);
          }
        },
        new ResidentEngineFactory(),
        new Simple(EmulatedEngine.NAME, EmulatedEngine.OPTIONS) {
          @Override
          public BaseVideoEngine createBase(EngineSettings s) {
            return new EmulatedEngine(s);
          }
        });
  }

  /** Built-in engines, then those found by ServiceLoader on this class's loader. */
  static EngineRegistry registry() {
    EngineRegistry.Builder b = EngineRegistry.builder();
    all().forEach(b::register);
    return b.discover(BuiltinEngines.class.getClassLoader()).build();
  }

  private abstract static class Simple implements EngineFactory {
    private final String name;
    private final ConfigSpec options;

    Simple(String name, ConfigSpec options) {
      this.name = name;
      this.options = options;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public ConfigSpec optionSpec() {
      return options;
    }

    @Override
    public boolean providesBase() {
      return true;
    }
  }
}
