package dev.reelflow.engine.weights;

import dev.reelflow.engine.EngineApi;
import java.util.List;

/**
 * A checkpoint does not fit the model or cannot be read: the message lists every offending tensor
 * (missing, mis-shaped, stored in a dtype the engine cannot read, unexpected, duplicated) at once.
 */
@EngineApi
public final class WeightLoadException extends RuntimeException {
  private final List<String> missing;
  private final List<String> misshaped;
  private final List<String> wrongDtype;
  private final List<String> unexpected;
  private final List<String> duplicated;

  public WeightLoadException(String source, List<String> missing, List<String> misshaped) {
    this(
        new WeightCheck(
            source,
            List.of(),
            java.util.Map.of(),
            missing,
            misshaped,
            List.of(),
            List.of(),
            List.of()));
  }

  /** The exception for a failed {@link WeightCheck}. */
  public WeightLoadException(WeightCheck check) {
    super(message(check));
    this.missing = check.missing();
    this.misshaped = check.misshaped();
    this.wrongDtype = check.wrongDtype();
    this.unexpected = check.unexpected();
    this.duplicated = check.duplicated();
  }

  public WeightLoadException(String message, Throwable cause) {
    super(message, cause);
    this.missing = List.of();
    this.misshaped = List.of();
    this.wrongDtype = List.of();
    this.unexpected = List.of();
    this.duplicated = List.of();
  }

  private static String message(WeightCheck c) {
    StringBuilder b = new StringBuilder("checkpoint ").append(c.source()).append(" does not match");
    b.append(" the model config: ");
    append(b, "missing tensors", c.missing());
    append(b, "mis-shaped tensors", c.misshaped());
    append(b, "tensors in a dtype the engine cannot read", c.wrongDtype());
    append(b, "unexpected tensors (neither used nor ignored on purpose)", c.unexpected());
    append(b, "tensors stored twice", c.duplicated());
    return b.append("use the checkpoint of the same model variant or pick the matching config")
        .toString();
  }

  private static void append(StringBuilder b, String what, List<String> names) {
    if (names.isEmpty()) {
      return;
    }
    b.append(what).append(' ');
    // a whole wrong checkpoint lists thousands of names: the first 40 and a count
    if (names.size() > 40) {
      b.append(names.subList(0, 40)).append(" and ").append(names.size() - 40).append(" more");
    } else {
      b.append(names);
    }
    b.append("; ");
  }

  /** Names the model expects that the checkpoint lacks. */
  public List<String> missing() {
    return missing;
  }

  /** "name: expected [..] got [..]" for tensors present with another shape. */
  public List<String> misshaped() {
    return misshaped;
  }

  /** "name: stored as X ..." for tensors in a dtype the engine cannot read. */
  public List<String> wrongDtype() {
    return wrongDtype;
  }

  /** Tensors of the checkpoint that the model neither uses nor ignores with a reason. */
  public List<String> unexpected() {
    return unexpected;
  }

  /** "name: in a and b" for tensors present in more than one file. */
  public List<String> duplicated() {
    return duplicated;
  }
}
