package dev.reelflow.bench;

/**
 * One suite of {@code reelflow bench}: measures its figures, each against a baseline from the same
 * run, {@link BenchContext#repetitions()} times.
 */
public interface BenchSuite {

  /** The name on the command line, e.g. {@code pipeline}. */
  String name();

  /** One line for the command's help. */
  String description();

  /**
   * Runs the suite.
   *
   * @throws Exception when the suite cannot run at all; a part it cannot run here (no Python, say)
   *     is a note in the result instead
   */
  SuiteResult run(BenchContext context) throws Exception;
}
