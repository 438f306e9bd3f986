package dev.reelflow.cli;

import dev.reelflow.ingest.IngestMain;
import dev.reelflow.orchestrator.OrchestratorJob;
import dev.reelflow.worker.WorkerMain;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * Single processes of a distributed deployment (containers, separate JVMs): each reads its own
 * typed configuration (a properties file plus REELFLOW_* environment variables) and prints it at
 * start.
 */
final class ProcessCommands {
  private ProcessCommands() {}

  @Command(
      name = "ingest",
      mixinStandardHelpOptions = true,
      description = {
        "Run the ingest API (configuration: --config file, REELFLOW_* environment).",
        "Without API keys configured it uses the local tenant in .reelflow/ of the working",
        "directory (created once; the key is in .reelflow/local.json)."
      })
  static final class Ingest implements Callable<Integer> {
    @Option(names = "--config", description = "Properties file with ingest.* keys.")
    Path config;

    @Override
    public Integer call() throws Exception {
      // One start path for `reelflow ingest` and the container's IngestMain.
      IngestMain.main(config == null ? new String[0] : new String[] {config.toString()});
      return ExitCode.OK;
    }
  }

  @Command(
      name = "worker",
      mixinStandardHelpOptions = true,
      description = {
        "Run a worker process of a pool; SIGTERM drains it.",
        "Arguments as WorkerMain: [--config FILE] [--set key=value]... [--pool base|upscale]"
            + " [--engine NAME] [--slots N] [--backend cpu|torch|cuda[:N]]; environment"
            + " REELFLOW_<SETTING> (README, Configuration)."
      })
  static final class Worker implements Callable<Integer> {
    @Unmatched List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      WorkerMain.main(args.toArray(String[]::new));
      return ExitCode.OK;
    }
  }

  @Command(
      name = "orchestrator",
      mixinStandardHelpOptions = true,
      description = {
        "Run the orchestrator job in a local Flink MiniCluster (on a Flink cluster, submit",
        "flink-jobs/target/reelflow-orchestrator.jar instead). Configuration: --config file,",
        "REELFLOW_* environment."
      })
  static final class Orchestrator implements Callable<Integer> {
    @Option(names = "--config", description = "Properties file with the orchestrator keys.")
    Path config;

    @Override
    public Integer call() throws Exception {
      OrchestratorJob.main(
          config == null ? new String[0] : new String[] {"--config", config.toString()});
      return ExitCode.OK;
    }
  }
}
