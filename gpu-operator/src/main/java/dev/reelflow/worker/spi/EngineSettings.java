package dev.reelflow.worker.spi;

import dev.reelflow.config.ConfigException;
import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Setting;
import dev.reelflow.engine.backend.BackendSpec;
import java.util.Map;
import java.util.Objects;

/**
 * Configuration an engine factory receives: the engine name, its options (the worker config keys
 * {@code engine.<name>.*} with that prefix removed), the worker slot's device and tensor backend.
 *
 * @param name engine name
 * @param options engine options as given, e.g. {@code command} → the program template; engines read
 *     them through {@link #options(ConfigSpec)}
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

  /** The CPU threads of an engine's tensor backend, an option every tensor engine declares. */
  public static final Setting<Integer> THREADS =
      Setting.integer("threads")
          .check(n -> n >= 1, ">= 1")
          .doc("CPU threads of the backend; default all processors.")
          .build();

  /** {@link #THREADS} as read into {@code options}, else every available processor. */
  public static int threads(ConfigValues options) {
    Integer n = options.get(THREADS);
    return n != null ? n : Runtime.getRuntime().availableProcessors();
  }

  /**
   * The options read through the engine's declared options ({@link EngineFactory#optionSpec()}):
   * defaults applied, an unknown name fails naming {@code engine.<name>.<option>} and suggesting
   * the closest, a bad value fails naming its option, an old name is read with a warning.
   *
   * @throws ConfigException naming the option in full and what to write
   */
  public ConfigValues options(ConfigSpec spec) {
    return spec.read("engine." + name + ".", options, "worker configuration");
  }
}
