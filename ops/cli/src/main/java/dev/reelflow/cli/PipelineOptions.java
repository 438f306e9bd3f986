package dev.reelflow.cli;

import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.BackendUnavailableException;
import dev.reelflow.engine.backend.TorchRuntime;
import dev.reelflow.orchestrator.OrchestratorConfig;
import dev.reelflow.orchestrator.OrchestratorConfigException;
import dev.reelflow.worker.WorkerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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
      description =
          "Upscale engine: esrgan (the pretrained esrgan-thick network), bicubic, latent-sr."
              + " Default: esrgan for up; for demo esrgan on cuda, bicubic on the CPU backends"
              + " (the network costs about 9 s per preview frame on 2 CPU cores).")
  String upscaleEngine;

  @Option(
      names = "--backend",
      defaultValue = "cpu",
      description =
          "Tensor backend of the workers: cpu (OpenBLAS, the default), torch (libtorch on the"
              + " CPU), cuda or cuda:N (libtorch on GPU N; base worker i gets GPU N+i). cuda"
              + " without a usable GPU stops at start saying what is missing.")
  String backend;

  @Option(
      names = "--model-dir",
      description =
          "A HunyuanVideo-1.5 checkpoint folder in the released layout (reelflow model check DIR"
              + " checks it): the native base engine and the latent-sr upscaler render from it"
              + " instead of seeded random weights.")
  Path modelDir;

  @Option(names = "--api-port", defaultValue = "0", description = "API port (0: a free port).")
  int apiPort;

  @Option(
      names = "--flink-ui-port",
      defaultValue = "0",
      description = "Flink web UI / REST port of the MiniCluster (0: a free port).")
  int flinkUiPort;

  @Option(
      names = "--orchestrator-config",
      paramLabel = "KEY=VALUE",
      description =
          "An orchestrator setting (repeatable), e.g. checkpoint.interval=5s or task.lease=10s.")
  Map<String, String> orchestratorConfig = new LinkedHashMap<>();

  @Option(
      names = "--worker-config",
      paramLabel = "KEY=VALUE",
      description =
          "A setting of every in-process worker (repeatable), e.g."
              + " engine.emulated.step=200ms.")
  Map<String, String> workerConfig = new LinkedHashMap<>();

  /** The tensor backend chosen with {@code --backend}. */
  BackendSpec backend() {
    try {
      return BackendSpec.parse(backend);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCode.USAGE, "--backend: " + e.getMessage());
    }
  }

  /** The options with {@code up}'s defaults. */
  LocalPipeline.Options toOptions() {
    return toOptions("esrgan");
  }

  /** The options, with {@code defaultUpscale} unless {@code --upscale-engine} was given. */
  LocalPipeline.Options toOptions(String defaultUpscale) {
    BackendSpec spec = backend();
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
    try {
      // Refuse an unknown key or a bad value before anything starts.
      OrchestratorConfig.Builder check = OrchestratorConfig.builder();
      orchestratorConfig.forEach(check::set);
      check.build();
    } catch (OrchestratorConfigException e) {
      throw new CliException(ExitCode.USAGE, "--orchestrator-config: " + e.getMessage());
    }
    return new LocalPipeline.Options(
        dir.toAbsolutePath().normalize(),
        baseWorkers,
        upscaleWorkers,
        baseEngine,
        upscaleEngine != null ? upscaleEngine : defaultUpscale,
        apiPort,
        flinkUiPort == 0 ? FreePort.find() : flinkUiPort,
        orchestratorConfig,
        workerSettings(spec));
  }

  private Map<String, String> workerSettings(BackendSpec spec) {
    Map<String, String> w = new LinkedHashMap<>();
    w.put(WorkerConfig.BACKEND.name(), spec.toString());
    if (modelDir != null) {
      Path d = modelDir.toAbsolutePath().normalize();
      if (!Files.isDirectory(d)) {
        throw new CliException(ExitCode.USAGE, "--model-dir " + d + " is not a directory");
      }
      w.put(WorkerConfig.MODEL_DIR.name(), d.toString());
    }
    w.putAll(workerConfig);
    return w;
  }
}
