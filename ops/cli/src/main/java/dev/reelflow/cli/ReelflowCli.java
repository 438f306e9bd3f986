package dev.reelflow.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code reelflow} command. */
@Command(
    name = "reelflow",
    mixinStandardHelpOptions = true,
    description = "ReelFlow: batch video rendering on Kafka, Flink and GPU worker pools.")
public final class ReelflowCli implements Runnable {

  public static void main(String[] args) {
    System.exit(new CommandLine(new ReelflowCli()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
