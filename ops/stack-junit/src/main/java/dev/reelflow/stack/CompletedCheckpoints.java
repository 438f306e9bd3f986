package dev.reelflow.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Flink job's completed checkpoints, read from its checkpoint folder ({@code
 * <job>/chk-N/_metadata}; Flink writes {@code _metadata} last, so a folder with one is complete).
 * The positive signal a test waits for instead of sleeping before it asserts that nothing more
 * happened: the orchestrator writes its topics in Kafka transactions and commits its source offsets
 * when a checkpoint completes, so once checkpoints begun after a moment have completed, whatever it
 * emitted or read before that moment is committed.
 */
public final class CompletedCheckpoints {
  /**
   * New completed checkpoints {@link #awaitCommitted} waits for: the one in flight at the call may
   * have begun before the last record; the next one began after it and commits its transaction; one
   * more gives the commit time to reach read_committed readers.
   */
  public static final int TO_COMMIT = 3;

  private CompletedCheckpoints() {}

  /** The completed checkpoints under {@code folder} now, each as {@code <job>/chk-N}. */
  public static Set<String> of(Path folder) {
    if (!Files.isDirectory(folder)) {
      return Set.of();
    }
    try (Stream<Path> jobs = Files.list(folder)) {
      return jobs.filter(Files::isDirectory)
          .flatMap(CompletedCheckpoints::ofJob)
          .collect(Collectors.toUnmodifiableSet());
    } catch (IOException | UncheckedIOException e) {
      return Set.of(); // a folder pruned while listing: the caller asks again
    }
  }

  private static Stream<String> ofJob(Path job) {
    try (Stream<Path> chks = Files.list(job)) {
      return chks
          .filter(c -> c.getFileName().toString().matches("chk-\\d+"))
          .filter(c -> Files.exists(c.resolve("_metadata")))
          .map(c -> job.getFileName() + "/" + c.getFileName())
          .toList()
          .stream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Waits until {@code count} checkpoints completed under {@code folder} that had not at the call
   * (whichever job wrote them: a job started afresh counts from 1 again); fails after {@code
   * timeout} naming the folder.
   */
  public static void awaitNew(Path folder, int count, Duration timeout) {
    Set<String> before = of(folder);
    Set<String> fresh = new HashSet<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      for (String c : of(folder)) {
        if (!before.contains(c)) {
          fresh.add(c);
        }
      }
      if (fresh.size() >= count) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "timed out after "
                + timeout.toSeconds()
                + " s waiting for "
                + count
                + " more completed checkpoints under "
                + folder
                + " (had "
                + before
                + ", new "
                + fresh
                + ")");
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for checkpoints under " + folder, e);
      }
    }
  }

  /**
   * Waits until everything the job emitted before the call is committed and readable: {@value
   * #TO_COMMIT} new completed checkpoints.
   */
  public static void awaitCommitted(Path folder, Duration timeout) {
    awaitNew(folder, TO_COMMIT, timeout);
  }
}
