package dev.reelflow.engine.checkpoint;

import java.nio.file.Path;
import java.util.Map;

/**
 * One component folder of a checkpoint (e.g. {@code vae/}, {@code upsampler/1080p_sr_distilled/},
 * {@code scheduler/}): its path and its parsed config JSON ({@code config.json}, or {@code
 * scheduler_config.json} for the scheduler; empty when the folder has none). The component's own
 * code interprets the config.
 *
 * @param name the path relative to the checkpoint folder, e.g. {@code vae}
 * @param dir the folder
 * @param config the parsed config (objects as {@code Map}, see {@code weights.Json})
 */
public record Component(String name, Path dir, Map<String, Object> config) {
  public Component {
    config = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(config));
  }

  /** The component's safetensors weights (single file or index + shards). */
  public WeightFiles weights() {
    return WeightFiles.in(dir);
  }
}
