package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServiceProcessesTest {
  @TempDir Path dir;

  @Test
  void aRecordedProcessIsStoppedFromAnotherHandleAndStoppingTwiceIsFine() throws Exception {
    Path component = dir.resolve("ingest");
    ServiceProcesses started = ServiceProcesses.create(component, Duration.ofSeconds(20));
    started.start(
        "probe",
        System.getProperty("java.class.path"),
        List.of("-Xmx32m"),
        Probe.class.getName(),
        List.of(),
        Map.of("REELFLOW_PROBE", "from-env"),
        dir.resolve("cwd"));
    started.put("api.url", "http://127.0.0.1:1");
    started.awaitFile("probe", dir.resolve("cwd").resolve("probe.txt"), Duration.ofSeconds(60));
    assertThat(Files.readString(dir.resolve("cwd").resolve("probe.txt")))
        .isEqualTo("from-env " + dir.resolve("cwd").toAbsolutePath());
    assertThat(ServiceProcesses.recorded(component))
        .singleElement()
        .satisfies(
            p -> {
              assertThat(p.name()).isEqualTo("probe");
              assertThat(p.running()).isTrue();
              assertThat(p.main()).isEqualTo(Probe.class.getName());
            });
    assertThat(ServiceProcesses.recordedTree(dir)).hasSize(1);
    assertThat(KafkaClusterProcesses.readState(component).getProperty("api.url"))
        .isEqualTo("http://127.0.0.1:1");

    // A second start on the same directory would share its ports and data: refused.
    assertThatThrownBy(() -> ServiceProcesses.create(component, Duration.ofSeconds(20)))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("still run")
        .hasMessageContaining("probe");

    assertThat(ServiceProcesses.stopRecorded(component)).isEqualTo(1);
    assertThat(ServiceProcesses.recorded(component)).noneMatch(p -> p.running());
    assertThat(ServiceProcesses.stopRecorded(component)).isZero();
    assertThat(ServiceProcesses.stopRecorded(dir.resolve("never-started"))).isZero();
  }

  @Test
  void aProcessThatExitsDuringStartFailsTheWaitWithItsLog() {
    ServiceProcesses started = ServiceProcesses.create(dir, Duration.ofSeconds(5));
    started.start(
        "broken",
        System.getProperty("java.class.path"),
        List.of("-Xmx32m"),
        "dev.reelflow.stack.NoSuchMain",
        List.of(),
        Map.of(),
        null);
    assertThatThrownBy(
            () ->
                started.awaitHttpOk("broken", "http://127.0.0.1:1/readyz", Duration.ofSeconds(60)))
        .isInstanceOf(StackException.class)
        .hasMessageContaining("broken exited during start")
        .hasMessageContaining("NoSuchMain");
    started.close();
  }

  @Test
  void theKnownClusterEntriesAreListedWithTheirMainClasses() throws Exception {
    Files.writeString(
        dir.resolve(KafkaClusterProcesses.STATE_FILE),
        "broker.1.pid=999999999\njobmanager.pid=999999998\nrest.url=http\\://x\n");
    assertThat(ServiceProcesses.recorded(dir))
        .extracting(ServiceProcesses.RecordedProcess::main)
        .containsExactly("kafka.Kafka", FlinkSessionProcesses.JOB_MANAGER_MAIN);
    assertThat(ServiceProcesses.recorded(dir)).noneMatch(p -> p.running());
  }

  /** Writes its environment variable and working directory to probe.txt, then waits. */
  public static final class Probe {
    public static void main(String[] args) throws Exception {
      Files.writeString(
          Path.of("probe.txt"),
          System.getenv("REELFLOW_PROBE") + " " + Path.of("").toAbsolutePath());
      Thread.sleep(Long.MAX_VALUE);
    }
  }
}
