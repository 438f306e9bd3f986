package dev.reelflow.worker;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Creates {@code resident} engines for both pools: with scope {@code slot} each engine starts its
 * own program; with scope {@code process} the slots of one worker process share one program per
 * stage and set of options, closed when the last slot closes.
 */
final class ResidentEngineFactory implements EngineFactory {

  /** A program shared by the slots of this process, with the number of slots using it. */
  private static final class Shared {
    final ResidentProgram program;
    int users;

    Shared(ResidentProgram program) {
      this.program = program;
    }
  }

  private final Map<String, Shared> shared = new HashMap<>();

  @Override
  public String name() {
    return ResidentEngine.NAME;
  }

  @Override
  public ConfigSpec optionSpec() {
    return ResidentOptions.OPTIONS;
  }

  @Override
  public boolean providesBase() {
    return true;
  }

  @Override
  public boolean providesUpscale() {
    return true;
  }

  @Override
  public BaseVideoEngine createBase(EngineSettings settings) {
    return create(settings, ResidentProtocol.BASE);
  }

  @Override
  public UpscaleEngine createUpscale(EngineSettings settings) {
    return create(settings, ResidentProtocol.UPSCALE);
  }

  private synchronized ResidentEngine create(EngineSettings settings, String stage) {
    ResidentOptions options = ResidentOptions.from(settings);
    if (!options.perProcess()) {
      ResidentProgram program = ResidentProgram.start(options, stage);
      return new ResidentEngine(settings, options, program, program::close);
    }
    String key = stage + " " + new TreeMap<>(settings.options());
    Shared s = shared.computeIfAbsent(key, k -> new Shared(ResidentProgram.start(options, stage)));
    s.users++;
    return new ResidentEngine(settings, options, s.program, () -> release(key));
  }

  private void release(String key) {
    Shared s;
    synchronized (this) {
      s = shared.get(key);
      if (s == null || --s.users > 0) {
        return;
      }
      shared.remove(key);
    }
    s.program.close();
  }
}
