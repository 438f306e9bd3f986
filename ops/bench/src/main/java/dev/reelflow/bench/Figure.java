package dev.reelflow.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * One headline figure of a suite: every repetition's value beside the baseline it is compared with,
 * measured in the same run (or, where the baseline is an ideal such as a makespan, computed from
 * the run's parameters; {@link BaselineKind} says which).
 *
 * @param name what was measured, e.g. "dispatch latency p99 (at-least-once)"
 * @param unit the unit of value and baseline, e.g. "ms"
 * @param baseline what the value is compared with
 * @param kind whether the baseline was measured in this run or is an ideal
 * @param values the figure, one per repetition
 * @param baselines the baseline, one per repetition (same length as values)
 */
public record Figure(
    String name,
    String unit,
    String baseline,
    BaselineKind kind,
    List<Double> values,
    List<Double> baselines) {

  /** Where a baseline comes from. */
  public enum BaselineKind {
    /** measured in the same run, on the same machine */
    MEASURED,
    /** computed from the run's parameters (an ideal makespan, a lease) */
    IDEAL
  }

  public Figure {
    if (values.size() != baselines.size() || values.isEmpty()) {
      throw new IllegalArgumentException(
          "figure '" + name + "': one baseline per repetition and at least one repetition");
    }
    values = List.copyOf(values);
    baselines = List.copyOf(baselines);
  }

  /** value / baseline of each repetition. */
  public List<Double> ratios() {
    List<Double> r = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      r.add(baselines.get(i) == 0 ? Double.NaN : values.get(i) / baselines.get(i));
    }
    return r;
  }

  /** Collects the repetitions of one figure. */
  public static final class Builder {
    private final String name;
    private final String unit;
    private final String baseline;
    private final BaselineKind kind;
    private final List<Double> values = new ArrayList<>();
    private final List<Double> baselines = new ArrayList<>();

    public Builder(String name, String unit, String baseline, BaselineKind kind) {
      this.name = name;
      this.unit = unit;
      this.baseline = baseline;
      this.kind = kind;
    }

    /** Adds one repetition. */
    public Builder add(double value, double baselineValue) {
      values.add(value);
      baselines.add(baselineValue);
      return this;
    }

    public boolean isEmpty() {
      return values.isEmpty();
    }

    public Figure build() {
      return new Figure(name, unit, baseline, kind, values, baselines);
    }
  }
}
