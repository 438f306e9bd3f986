package dev.reelflow.e2e;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/** Polls a condition until it holds or a deadline passes (never a fixed sleep as a barrier). */
final class Await {
  private Await() {}

  /** The first present value of {@code probe} within {@code timeout}; fails with {@code what}. */
  static <T> T until(Duration timeout, String what, Supplier<Optional<T>> probe) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<T> value = probe.get();
      if (value.isPresent()) {
        return value.get();
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "timed out after " + timeout.toSeconds() + " s waiting for " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what, e);
      }
    }
  }
}
