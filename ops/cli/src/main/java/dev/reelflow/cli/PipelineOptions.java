package dev.reelflow.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options of the commands that start the local pipeline ({@code up}, {@code demo}). */
final class PipelineOptions {
  @Option(
      names = "--dir",
      defaultValue = ".",
      description = "Directory whose .reelflow/ holds the stack's data and local.json.")
  Path dir;

  @Option(names = "--base-workers", defaultValue = "1", description = "Base-stage workers.")
  int baseWorkers;

  @Option(names = "--upscale-workers", defaultValue = "1", description = "Upscale workers.")
  int upscaleWorkers;

  @Option(
      names = "--engine",
      defaultValue = "native",
      description = "Base engine: native (tiny config on the CPU), command, emulated.")
  String baseEngine;

  @Option(
      names = "--upscale-engine",
      defaultValue = "esrgan",
      description = "Upscale engine: esrgan, bicubic, latent-sr.")
  String upscaleEngine;

  @Option(
      names = "--backend",
      defaultValue = "cpu",
      description =
          "Tensor backend of the workers: cpu (cuda where a GPU and the CUDA backend exist).")
  String backend;

  @Option(names = "--api-port", defaultValue = "0", description = "API port (0: a free port).")
  int apiPort;

  @Option(
      names = "--flink-ui-port",
      defaultValue = "0",
      description = "Flink web UI / REST port of the MiniCluster (0: a free port).")
  int flinkUiPort;

  LocalPipeline.Options toOptions() {
    if (!"cpu".equals(backend)) {
      throw new CliException(
          ExitCode.USAGE,
          "--backend " + backend + ": only the cpu backend is available in this build");
    }
    if (baseWorkers < 1 || upscaleWorkers < 0) {
      throw new CliException(ExitCode.USAGE, "need at least one base worker");
    }
    return new LocalPipeline.Options(
        dir.toAbsolutePath().normalize(),
        baseWorkers,
        upscaleWorkers,
        baseEngine,
        upscaleEngine,
        apiPort,
        flinkUiPort == 0 ? FreePort.find() : flinkUiPort,
        java.util.Map.of(),
        java.util.Map.of());
  }
}
