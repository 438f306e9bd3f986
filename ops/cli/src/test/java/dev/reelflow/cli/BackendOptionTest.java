package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code --backend} of up/demo: checked before anything starts. */
class BackendOptionTest {
  @TempDir Path dir;

  private record Run(int code, String err) {}

  private Run run(String... args) {
    CommandLine cli = ReelflowCli.commandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new Run(code, err.toString());
  }

  @Test
  void anUnknownBackendIsAUsageError() {
    Run r = run("up", "--dir", dir.toString(), "--backend", "gpu");
    assertThat(r.code()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("--backend").contains("cuda:N");
    assertThat(dir.resolve(".reelflow")).doesNotExist();
  }

  @Test
  void cudaWithoutAUsableGpuSaysWhatIsMissingBeforeStartingAnything() {
    assumeTrue(
        !Files.exists(Path.of("/dev/nvidia0")), "a GPU is present: the refusal is not testable");
    Run r = run("demo", "--dir", dir.toString(), "--backend", "cuda");
    assertThat(r.code()).isEqualTo(ExitCode.UNAVAILABLE);
    // the CPU build of libtorch is what CI has; a CUDA build without a driver names the driver
    assertThat(r.err()).contains("--backend cuda:0").containsPattern("CUDA build|libcuda|0 CUDA");
    assertThat(dir.resolve(".reelflow")).doesNotExist();
  }

  @Test
  void anUnknownOrchestratorSettingIsAUsageErrorBeforeAnythingStarts() {
    Run r = run("up", "--dir", dir.toString(), "--orchestrator-config", "checkpoint.intervall=5s");
    assertThat(r.code()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("--orchestrator-config").contains("checkpoint.intervall");
    assertThat(dir.resolve(".reelflow")).doesNotExist();
  }

  @Test
  void anOrchestratorDurationWithoutAUnitIsAUsageErrorNamingTheSetting() {
    Run r = run("up", "--dir", dir.toString(), "--orchestrator-config", "checkpoint.interval=5");
    assertThat(r.code()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err())
        .contains("--orchestrator-config")
        .contains("checkpoint.interval: cannot read '5' as duration")
        .contains("a whole number and a unit");
    assertThat(dir.resolve(".reelflow")).doesNotExist();
  }

  @Test
  void orchestratorAndWorkerSettingsReachThePipelineOptions() {
    PipelineOptions o = new PipelineOptions();
    new CommandLine(o)
        .parseArgs(
            "--dir",
            dir.toString(),
            "--orchestrator-config",
            "checkpoint.interval=5s",
            "--orchestrator-config",
            "task.lease=10s",
            "--worker-config",
            "engine.emulated.step=7ms");
    LocalPipeline.Options options = o.toOptions();
    assertThat(options.orchestratorSettings())
        .containsEntry("checkpoint.interval", "5s")
        .containsEntry("task.lease", "10s");
    assertThat(options.workerSettings()).containsEntry("engine.emulated.step", "7ms");
  }
}
