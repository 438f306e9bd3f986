package dev.reelflow.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a suite runs with. Immutable; build with {@link #builder()}.
 *
 * @param size how large the run is
 * @param repetitions how many times each figure is measured (at least 1)
 * @param progress the progress display (stderr)
 * @param workDir a scratch folder the suite may fill; the harness deletes it
 * @param scaleSizes queued renders of the {@code scale} suite, one orchestrator run each; empty for
 *     the size's default
 * @param repositoryRoot the ReelFlow checkout, for tools outside the classpath (the NumPy bar);
 *     empty when unknown
 */
public record BenchContext(
    BenchSize size,
    int repetitions,
    Progress progress,
    Path workDir,
    List<Integer> scaleSizes,
    Optional<Path> repositoryRoot) {

  public BenchContext {
    Objects.requireNonNull(size, "size");
    Objects.requireNonNull(progress, "progress");
    Objects.requireNonNull(workDir, "workDir");
    if (repetitions < 1) {
      throw new IllegalArgumentException("repetitions must be >= 1, got " + repetitions);
    }
    for (int n : scaleSizes) {
      if (n < 1) {
        throw new IllegalArgumentException("scale sizes must be >= 1, got " + n);
      }
    }
    scaleSizes = List.copyOf(scaleSizes);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builder; workDir is required. */
  public static final class Builder {
    private BenchSize size = BenchSize.DEFAULT;
    private int repetitions = 3;
    private Progress progress = Progress.silent();
    private Path workDir;
    private List<Integer> scaleSizes = List.of();
    private Path repositoryRoot;

    public Builder size(BenchSize v) {
      size = v;
      return this;
    }

    public Builder repetitions(int v) {
      repetitions = v;
      return this;
    }

    public Builder progress(Progress v) {
      progress = v;
      return this;
    }

    public Builder workDir(Path v) {
      workDir = v;
      return this;
    }

    public Builder scaleSizes(List<Integer> v) {
      scaleSizes = v;
      return this;
    }

    public Builder repositoryRoot(Path v) {
      repositoryRoot = v;
      return this;
    }

    public BenchContext build() {
      return new BenchContext(
          size, repetitions, progress, workDir, scaleSizes, Optional.ofNullable(repositoryRoot));
    }
  }
}
