package dev.reelflow.worker.spi;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What an engine is, for worker announcements, stage events and manifests.
 *
 * @param name configured engine name, e.g. {@code native}, {@code command}, {@code emulated}
 * @param emulated true when the engine does not render real content (latency model only); every
 *     output of such an engine says so
 * @param backend tensor backend or program, e.g. {@code cpu}, {@code cuda}, {@code external}
 * @param device device the engine runs on, e.g. {@code cpu} or a GPU model
 * @param modelId model identifier, e.g. {@code hunyuanvideo-1.5-480p} or {@code tiny}
 * @param weightsId identifier of the weights, e.g. a checkpoint hash, or {@code random-seeded}
 */
public record EngineDescription(
    String name,
    boolean emulated,
    String backend,
    String device,
    String modelId,
    String weightsId) {

  public EngineDescription {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(modelId, "modelId");
    Objects.requireNonNull(weightsId, "weightsId");
  }

  /** The description as manifest/stage-event facts (keys engine, emulated, backend, ...). */
  public Map<String, String> facts() {
    Map<String, String> facts = new LinkedHashMap<>();
    facts.put("engine", name);
    facts.put("emulated", Boolean.toString(emulated));
    facts.put("backend", backend);
    facts.put("device", device);
    facts.put("modelId", modelId);
    facts.put("weightsId", weightsId);
    return facts;
  }
}
