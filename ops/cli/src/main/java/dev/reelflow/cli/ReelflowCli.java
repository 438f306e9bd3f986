package dev.reelflow.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code reelflow} command. */
@Command(
    name = "reelflow",
    mixinStandardHelpOptions = true,
    version = "reelflow 0.1.0",
    description = "ReelFlow: batch video rendering on Kafka, Flink and GPU worker pools.",
    subcommands = {
      UpCommand.class,
      DemoCommand.class,
      ClientCommands.Submit.class,
      ClientCommands.Status.class,
      ClientCommands.Watch.class,
      ClientCommands.Cancel.class,
      ClientCommands.Outputs.class,
      ClientCommands.Schedules.class,
      BenchCommand.class,
      ProcessCommands.Ingest.class,
      ProcessCommands.Worker.class,
      ProcessCommands.Orchestrator.class,
      ProvisionCommand.class,
      DoctorCommand.class,
      ModelCommands.class,
      CommandLine.HelpCommand.class
    })
public final class ReelflowCli implements Runnable {

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line with its exit-code mapping, for running commands in-process. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new ReelflowCli());
    cli.setExecutionExceptionHandler(
        (e, cmd, parseResult) -> {
          if (e instanceof CliException failure) {
            cmd.getErr().println("reelflow: " + failure.getMessage());
            return failure.exitCode();
          }
          // Anything else is unexpected: say what, where the details are, and fail.
          StringBuilder message = new StringBuilder("reelflow: ").append(e);
          for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            message.append(System.lineSeparator()).append("  caused by: ").append(cause);
          }
          cmd.getErr().println(message);
          cmd.getErr().println("  (details in .reelflow/logs/reelflow.log)");
          return ExitCode.API_ERROR;
        });
    cli.setExitCodeExceptionMapper(e -> ExitCode.USAGE);
    return cli;
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
