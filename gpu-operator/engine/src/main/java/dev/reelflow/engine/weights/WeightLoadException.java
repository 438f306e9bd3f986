package dev.reelflow.engine.weights;

import java.util.List;

/** A checkpoint does not fit the model: the message lists every offending tensor. */
public final class WeightLoadException extends RuntimeException {
  private final List<String> missing;
  private final List<String> misshaped;

  public WeightLoadException(String source, List<String> missing, List<String> misshaped) {
    super(
        "checkpoint "
            + source
            + " does not match the model config: "
            + (missing.isEmpty() ? "" : "missing tensors " + missing + "; ")
            + (misshaped.isEmpty() ? "" : "mis-shaped tensors " + misshaped + "; ")
            + "use the checkpoint of the same model variant or pick the matching config");
    this.missing = List.copyOf(missing);
    this.misshaped = List.copyOf(misshaped);
  }

  public WeightLoadException(String message, Throwable cause) {
    super(message, cause);
    this.missing = List.of();
    this.misshaped = List.of();
  }

  /** Names the model expects that the checkpoint lacks. */
  public List<String> missing() {
    return missing;
  }

  /** "name: expected [..] got [..]" for tensors present with another shape. */
  public List<String> misshaped() {
    return misshaped;
  }
}
