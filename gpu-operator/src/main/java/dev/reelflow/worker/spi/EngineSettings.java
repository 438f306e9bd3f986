package dev.reelflow.worker.spi;

import dev.reelflow.engine.backend.BackendSpec;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Configuration an engine factory receives: the engine name, its options (the worker config keys
 * {@code engine.<name>.*} with that prefix removed), the worker slot's device and tensor backend.
 *
 * @param name engine name
 * @param options engine options, e.g. {@code command} → the program template
 * @param device device name, {@code cpu} or a GPU model
 * @param deviceMemoryBytes memory budget of the device, 0 when unknown
 * @param offloadWeights true when weights may be offloaded to host memory between blocks
 * @param backend the slot's tensor backend ({@code backend} in the worker config; {@code cuda:N}
 *     per slot on a multi-GPU node); engines that run tensors open it with {@code Backends.open}
 */
public record EngineSettings(
    String name,
    Map<String, String> options,
    String device,
    long deviceMemoryBytes,
    boolean offloadWeights,
    BackendSpec backend) {

  public EngineSettings {
    Objects.requireNonNull(name, "name");
    options = Map.copyOf(options);
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(backend, "backend");
  }

  /** Settings on the CPU default backend ({@code cpu}), as most tests and CPU workers use. */
  public EngineSettings(
      String name,
      Map<String, String> options,
      String device,
      long deviceMemoryBytes,
      boolean offloadWeights) {
    this(name, options, device, deviceMemoryBytes, offloadWeights, BackendSpec.cpu());
  }

  public Optional<String> option(String key) {
    return Optional.ofNullable(options.get(key));
  }

  /** The option, or a {@link IllegalArgumentException} that names the config key to set. */
  public String requireOption(String key) {
    String v = options.get(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException(
          "engine '"
              + name
              + "' needs option engine."
              + name
              + "."
              + key
              + "; set it in the worker config");
    }
    return v;
  }

  public long longOption(String key, long dflt) {
    String v = options.get(key);
    try {
      return v == null ? dflt : Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "engine." + name + "." + key + " must be an integer, got '" + v + "'", e);
    }
  }

  public double doubleOption(String key, double dflt) {
    String v = options.get(key);
    try {
      return v == null ? dflt : Double.parseDouble(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "engine." + name + "." + key + " must be a number, got '" + v + "'", e);
    }
  }
}
