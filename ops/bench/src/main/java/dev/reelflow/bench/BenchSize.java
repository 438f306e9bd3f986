package dev.reelflow.bench;

/**
 * How large a run is. Each suite maps it to its own parameters (tasks, rows, tensor shapes), which
 * it records in its result.
 */
public enum BenchSize {
  /** seconds per suite: the smoke tests' size; figures are only indicative */
  TINY,
  /** minutes per suite on a laptop: the size {@code bench/BASELINE.md} is measured at */
  DEFAULT,
  /** the full sizes (16 workers x 5,000 tasks, 100,000 queued renders, ...) */
  FULL;

  /** The value for this size. */
  public <T> T pick(T tiny, T normal, T full) {
    return switch (this) {
      case TINY -> tiny;
      case DEFAULT -> normal;
      case FULL -> full;
    };
  }
}
