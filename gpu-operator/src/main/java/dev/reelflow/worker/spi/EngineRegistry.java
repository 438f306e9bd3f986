package dev.reelflow.worker.spi;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeSet;

/**
 * Engine factories by name: the ones given to the builder first, then those found by {@link
 * ServiceLoader}. The worker runtime builds one with its built-in engines ({@code native}, {@code
 * command}, {@code emulated}); upscale-stage adds its engines through ServiceLoader or {@link
 * Builder#register}.
 */
public final class EngineRegistry {

  private final Map<String, EngineFactory> factories;

  private EngineRegistry(Map<String, EngineFactory> factories) {
    this.factories = Map.copyOf(factories);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Names of all registered engines, sorted. */
  public List<String> names() {
    return new ArrayList<>(new TreeSet<>(factories.keySet()));
  }

  /** The factory called {@code name}, or an exception listing the names that exist. */
  public EngineFactory factory(String name) {
    EngineFactory f = factories.get(name);
    if (f == null) {
      throw new IllegalArgumentException(
          "unknown engine '" + name + "'; set engine to one of " + names());
    }
    return f;
  }

  /** Creates the base engine called {@code settings.name()}. */
  public BaseVideoEngine createBase(EngineSettings settings) throws EngineException {
    EngineFactory f = factory(settings.name());
    if (!f.providesBase()) {
      throw new IllegalArgumentException(
          "engine '"
              + settings.name()
              + "' cannot run the BASE pool; choose one of "
              + namesFor(true));
    }
    return f.createBase(settings);
  }

  /** Creates the upscale engine called {@code settings.name()}. */
  public UpscaleEngine createUpscale(EngineSettings settings) throws EngineException {
    EngineFactory f = factory(settings.name());
    if (!f.providesUpscale()) {
      throw new IllegalArgumentException(
          "engine '"
              + settings.name()
              + "' cannot run the UPSCALE pool; choose one of "
              + namesFor(false));
    }
    return f.createUpscale(settings);
  }

  private List<String> namesFor(boolean base) {
    List<String> out = new ArrayList<>();
    for (String n : names()) {
      EngineFactory f = factories.get(n);
      if (base ? f.providesBase() : f.providesUpscale()) {
        out.add(n);
      }
    }
    return out;
  }

  /** Collects factories; later registrations of the same name are rejected. */
  public static final class Builder {
    private final Map<String, EngineFactory> factories = new LinkedHashMap<>();

    private Builder() {}

    /** Adds a factory; a second factory with the same name is an error. */
    public Builder register(EngineFactory factory) {
      EngineFactory previous = factories.putIfAbsent(factory.name(), factory);
      if (previous != null && previous != factory) {
        throw new IllegalArgumentException(
            "two engines are called '"
                + factory.name()
                + "': "
                + previous.getClass().getName()
                + " and "
                + factory.getClass().getName());
      }
      return this;
    }

    /** Adds every factory found by {@link ServiceLoader} on the given class loader. */
    public Builder discover(ClassLoader loader) {
      for (EngineFactory f : ServiceLoader.load(EngineFactory.class, loader)) {
        if (!factories.containsKey(f.name())) {
          register(f);
        }
      }
      return this;
    }

    public EngineRegistry build() {
      return new EngineRegistry(factories);
    }
  }
}
