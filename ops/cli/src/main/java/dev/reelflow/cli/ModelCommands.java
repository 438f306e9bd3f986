package dev.reelflow.cli;

import dev.reelflow.engine.checkpoint.ModelCheck;
import dev.reelflow.engine.checkpoint.ModelCheckReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code reelflow model ...}: HunyuanVideo-1.5 checkpoint folders. */
@Command(
    name = "model",
    mixinStandardHelpOptions = true,
    description = "Inspect HunyuanVideo-1.5 checkpoint folders.",
    subcommands = {ModelCommands.Check.class})
final class ModelCommands implements Runnable {
  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code reelflow model check DIR}: the engine's ModelCheck, printed. */
  @Command(
      name = "check",
      mixinStandardHelpOptions = true,
      description = {
        "Check a checkpoint folder in the released layout without loading tensor data: list the"
            + " transformer variants, match every tensor's name, shape and dtype against what the"
            + " engine expects for each config.json, check shards against their index, estimate"
            + " memory per stage and backend, and name everything missing or wrong.",
        "Exit code 0 when the folder is usable, 6 when it has problems."
      })
  static final class Check implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "The checkpoint folder.")
    Path dir;

    @Override
    public Integer call() {
      ModelCheckReport report = ModelCheck.run(dir);
      spec.commandLine().getOut().println(report.render());
      spec.commandLine().getOut().flush();
      return report.ok() ? ExitCode.OK : ExitCode.MODEL_INVALID;
    }
  }
}
