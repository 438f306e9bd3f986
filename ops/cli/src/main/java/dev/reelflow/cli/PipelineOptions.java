package dev.reelflow.cli;

import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.BackendUnavailableException;
import dev.reelflow.engine.backend.TorchRuntime;
import dev.reelflow.worker.WorkerConfig;
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
          "Tensor backend of the workers: cpu (OpenBLAS, the default), torch (libtorch on the"
              + " CPU), cuda or cuda:N (libtorch on GPU N; base worker i gets GPU N+i). cuda"
              + " without a usable GPU stops at start saying what is missing.")
  String backend;

  @Option(names = "--api-port", defaultValue = "0", description = "API port (0: a free port).")
  int apiPort;

  @Option(
      names = "--flink-ui-port",
      defaultValue = "0",
      description = "Flink web UI / REST port of the MiniCluster (0: a free port).")
  int flinkUiPort;

  LocalPipeline.Options toOptions() {
    BackendSpec spec;
    try {
      spec = BackendSpec.parse(backend);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCode.USAGE, "--backend: " + e.getMessage());
    }
    if (baseWorkers < 1 || upscaleWorkers < 0) {
      throw new CliException(ExitCode.USAGE, "need at least one base worker");
    }
    if (spec.isCuda()) {
      // refuse before the stack starts; the workers would fail the same way
      try {
        TorchRuntime.requireCuda(spec.deviceIndex() + Math.max(baseWorkers, upscaleWorkers) - 1);
      } catch (BackendUnavailableException e) {
        throw new CliException(ExitCode.UNAVAILABLE, "--backend " + spec + ": " + e.getMessage());
      }
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
        java.util.Map.of(WorkerConfig.BACKEND, spec.toString()));
  }
}
