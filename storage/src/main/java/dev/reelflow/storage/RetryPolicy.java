package dev.reelflow.storage;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter for retryable S3 failures (5xx, 409, 429, timeouts, refused or
 * reset connections). A request is retried until {@link #maxElapsed()} has passed since its first
 * try, so an endpoint outage shorter than that delays a render but does not fail it.
 *
 * <p>Defaults: initial backoff 200 ms, multiplier 2, max backoff 5 s, max elapsed 120 s.
 */
public final class RetryPolicy {
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final double multiplier;
  private final Duration maxElapsed;

  private RetryPolicy(Builder b) {
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.multiplier = b.multiplier;
    this.maxElapsed = b.maxElapsed;
  }

  public static RetryPolicy defaults() {
    return builder().build();
  }

  /** No retries at all (for tests of the failure paths). */
  public static RetryPolicy none() {
    return builder().maxElapsed(Duration.ZERO).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Duration initialBackoff() {
    return initialBackoff;
  }

  public Duration maxBackoff() {
    return maxBackoff;
  }

  public double multiplier() {
    return multiplier;
  }

  public Duration maxElapsed() {
    return maxElapsed;
  }

  /**
   * Sleep before retry number {@code retry} (1-based): uniformly random in [cap/2, cap] with cap =
   * min(max, initial*multiplier^(retry-1)) ("equal jitter"), so that many workers retrying after
   * one outage do not hit the endpoint in lock step.
   */
  long backoffMillis(int retry) {
    double ceiling = initialBackoff.toMillis() * Math.pow(multiplier, Math.max(0, retry - 1));
    long cap = (long) Math.min(maxBackoff.toMillis(), ceiling);
    return cap <= 0 ? 0 : ThreadLocalRandom.current().nextLong(cap / 2, cap + 1);
  }

  @Override
  public String toString() {
    return "RetryPolicy{initial="
        + initialBackoff
        + ", max="
        + maxBackoff
        + ", multiplier="
        + multiplier
        + ", maxElapsed="
        + maxElapsed
        + "}";
  }

  /** Builder with validated options. */
  public static final class Builder {
    private Duration initialBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(5);
    private double multiplier = 2.0;
    private Duration maxElapsed = Duration.ofSeconds(120);

    private Builder() {}

    public Builder initialBackoff(Duration d) {
      this.initialBackoff = positive("initialBackoff", d);
      return this;
    }

    public Builder maxBackoff(Duration d) {
      this.maxBackoff = positive("maxBackoff", d);
      return this;
    }

    public Builder multiplier(double m) {
      if (!(m >= 1.0)) {
        throw new IllegalArgumentException("multiplier must be >= 1: " + m);
      }
      this.multiplier = m;
      return this;
    }

    /** Total time a request may spend retrying; {@link Duration#ZERO} disables retries. */
    public Builder maxElapsed(Duration d) {
      Objects.requireNonNull(d, "maxElapsed");
      if (d.isNegative()) {
        throw new IllegalArgumentException("maxElapsed must be >= 0: " + d);
      }
      this.maxElapsed = d;
      return this;
    }

    public RetryPolicy build() {
      if (maxBackoff.compareTo(initialBackoff) < 0) {
        throw new IllegalArgumentException(
            "maxBackoff " + maxBackoff + " is smaller than initialBackoff " + initialBackoff);
      }
      return new RetryPolicy(this);
    }

    private static Duration positive(String what, Duration d) {
      Objects.requireNonNull(d, what);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be > 0: " + d);
      }
      return d;
    }
  }
}
