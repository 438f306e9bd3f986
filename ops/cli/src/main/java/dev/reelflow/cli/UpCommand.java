package dev.reelflow.cli;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code reelflow up}: the whole local pipeline, until Ctrl-C. */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Start the whole local pipeline and keep it running until Ctrl-C:",
      "Kafka (KRaft), schema registry, S3 endpoint, the orchestrator in a Flink MiniCluster,",
      "base and upscale workers, the ingest API and the web console.",
      "Prints every address and the API key, and writes them to .reelflow/local.json."
    })
final class UpCommand implements Callable<Integer> {
  @Mixin PipelineOptions pipelineOptions;

  @Override
  public Integer call() throws Exception {
    LocalPipeline pipeline = LocalPipeline.start(pipelineOptions.toOptions(), System.err);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("reelflow: stopping ...");
                  pipeline.close();
                  stopped.countDown();
                },
                "reelflow-stop"));
    System.out.println("ReelFlow is up:");
    System.out.print(pipeline.info().describe());
    System.out.println(
        "Written to "
            + pipelineOptions.toOptions().stateDir().resolve("local.json")
            + "; try `./reelflow submit \"a red fox in the snow\" --resolution preview --wait`."
            + " Ctrl-C stops everything.");
    stopped.await();
    return ExitCode.OK;
  }
}
