package dev.reelflow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When the warm-up stops: a simulated clock and compile-time counter, one second per pass. */
class JitWarmupTest {
  /** Each pass takes a second of the clock and adds the next compile time, in ms. */
  private static final class Simulated {
    long nanos;
    long jitMillis;
    int passes;
    final long[] jitPerPass;

    Simulated(long... jitPerPass) {
      this.jitPerPass = jitPerPass;
    }

    void pass() {
      nanos += 1_000_000_000L;
      jitMillis += jitPerPass[Math.min(passes, jitPerPass.length - 1)];
      passes++;
    }

    JitWarmup warmup() {
      return JitWarmup.of(() -> jitMillis, () -> nanos);
    }
  }

  @Test
  void passesGoOnUntilThePassCompiledForAtMostATenthOfItsWallTime() throws Exception {
    Simulated jvm = new Simulated(1300, 500, 300, 101, 100, 0);
    JitWarmup.Result r = jvm.warmup().run(jvm::pass, 2, Duration.ofSeconds(60), Progress.silent());
    assertThat(r.passes()).isEqualTo(5);
    assertThat(jvm.passes).isEqualTo(5);
    assertThat(r.settled()).isTrue();
    assertThat(r.lastPassJitShare()).isEqualTo(0.1);
    assertThat(r.seconds()).isEqualTo(5.0);
    assertThat(r.describe()).contains("5 untimed pass(es)").contains("last: 10.0%");
  }

  @Test
  void theMinimumRunsEvenWhenTheFirstPassSettled() throws Exception {
    Simulated jvm = new Simulated(0);
    JitWarmup.Result r = jvm.warmup().run(jvm::pass, 3, Duration.ofSeconds(60), Progress.silent());
    assertThat(r.passes()).isEqualTo(3);
    assertThat(r.settled()).isTrue();
  }

  @Test
  void theBudgetEndsAWarmupThatNeverSettlesAndSaysSo() throws Exception {
    Simulated jvm = new Simulated(900);
    JitWarmup.Result r =
        jvm.warmup().run(jvm::pass, 1, Duration.ofMillis(3_500), Progress.silent());
    assertThat(r.passes()).isEqualTo(4); // the pass started before the deadline runs to its end
    assertThat(r.settled()).isFalse();
    assertThat(r.describe())
        .contains("was still 90.0% of the last pass")
        .contains("budget ran out");
  }

  @Test
  void onLinuxTheCompilerThreadsCpuIsRead() {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        java.nio.file.Files.isDirectory(java.nio.file.Path.of("/proc/self/task")), "Linux only");
    // this JVM has compiled something by now (JUnit, AssertJ): its compiler threads used CPU
    assertThat(JitWarmup.compilerMillis()).isPositive();
    assertThat(JitWarmup.measure()).isEqualTo("JIT compiler threads' CPU time");
  }

  @Test
  void aJvmThatDoesNotReportCompileTimeGetsTheMinimum() throws Exception {
    long[] nanos = {0};
    JitWarmup w = JitWarmup.of(() -> -1, () -> nanos[0]);
    int[] passes = {0};
    JitWarmup.Result r =
        w.run(
            () -> {
              nanos[0] += 1_000_000_000L;
              passes[0]++;
            },
            2,
            Duration.ofSeconds(60),
            Progress.silent());
    assertThat(passes[0]).isEqualTo(2);
    assertThat(r.settled()).isFalse();
    assertThat(r.describe()).contains("not measured on this machine");
    assertThatThrownBy(() -> w.run(() -> {}, 0, Duration.ZERO, Progress.silent()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
