package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ChildJvmTest {
  @Test
  void aRecordedPidNowRunningSomethingElseIsNeverSignalled() throws Exception {
    Process other = new ProcessBuilder("sleep", "60").start();
    try {
      ChildJvm reused = ChildJvm.attach("broker.1.pid", other.pid(), Path.of("."), "kafka.Kafka");
      assertThat(reused.isAlive()).isFalse();
      reused.stop(Duration.ofSeconds(1)); // must not signal the unrelated process
      assertThat(other.isAlive()).isTrue();
    } finally {
      other.destroyForcibly().waitFor();
    }
    long self = ProcessHandle.current().pid();
    ChildJvm same = ChildJvm.attach("self", self, Path.of("."), "java");
    assertThat(same.isAlive()).isTrue();
  }

  @Test
  void aChildIsStartedWithItsOutputInTheLogAndStopped() throws Exception {
    Path log = java.nio.file.Files.createTempFile("childjvm", ".log");
    try {
      ChildJvm child =
          ChildJvm.start(
              "sleeper",
              System.getProperty("java.class.path"),
              java.util.List.of("-Xmx32m"),
              Sleeper.class.getName(),
              java.util.List.of("started"),
              log);
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!java.nio.file.Files.readString(log).contains("started")
          && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(java.nio.file.Files.readString(log)).contains("started");
      assertThat(child.isAlive()).as("%s", java.nio.file.Files.readString(log)).isTrue();
      child.stop(Duration.ofSeconds(30));
      assertThat(child.isAlive()).isFalse();
    } finally {
      java.nio.file.Files.deleteIfExists(log);
    }
  }

  /** A child main that prints its argument and waits to be stopped. */
  public static final class Sleeper {
    public static void main(String[] args) throws InterruptedException {
      System.out.println(args[0]);
      System.out.flush();
      Thread.sleep(Long.MAX_VALUE);
    }
  }
}
