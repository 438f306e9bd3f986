package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  @Test
  void defaultsSurviveAMinuteLongOutage() {
    assertThat(RetryPolicy.defaults().maxElapsed()).isGreaterThanOrEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void backoffGrowsExponentiallyWithJitterUpToTheCap() {
    RetryPolicy p =
        RetryPolicy.builder()
            .initialBackoff(Duration.ofMillis(100))
            .maxBackoff(Duration.ofMillis(1000))
            .multiplier(2)
            .build();
    for (int i = 0; i < 200; i++) {
      assertThat(p.backoffMillis(1)).isBetween(50L, 100L);
      assertThat(p.backoffMillis(3)).isBetween(200L, 400L);
      assertThat(p.backoffMillis(20)).isBetween(500L, 1000L);
    }
    long distinct =
        java.util.stream.IntStream.range(0, 50)
            .mapToLong(i -> p.backoffMillis(5))
            .distinct()
            .count();
    assertThat(distinct).as("jitter spreads retries").isGreaterThan(5);
  }

  @Test
  void validatesOptions() {
    assertThatThrownBy(() -> RetryPolicy.builder().multiplier(0.5))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                RetryPolicy.builder()
                    .initialBackoff(Duration.ofSeconds(10))
                    .maxBackoff(Duration.ofSeconds(1))
                    .build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RetryPolicy.builder().maxElapsed(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
