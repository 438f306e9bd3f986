package dev.reelflow.stack;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Command line of the ops/cluster scripts: starts or stops a multi-broker Kafka cluster or a
 * standalone Flink session cluster as separate JVMs (this JVM's class path), and submits a job jar
 * to the session cluster over REST. {@code start} returns once the cluster is up and leaves the
 * nodes running; {@code stop} finds them again through {@code DIR/cluster.properties}.
 *
 * <pre>
 * kafka start DIR [--brokers N]        three brokers by default (replication 3, min ISR 2)
 * kafka stop DIR
 * flink start DIR [--taskmanagers N] [--slots N]
 * flink stop DIR
 * flink submit DIR JAR [--class C] [PROGRAM ARGS...]
 * </pre>
 */
public final class ClusterMain {
  private static final String USAGE =
      "Usage: ClusterMain kafka start DIR [--brokers N] | kafka stop DIR\n"
          + "       ClusterMain flink start DIR [--taskmanagers N] [--slots N] | flink stop DIR\n"
          + "       ClusterMain flink submit DIR JAR [--class C] [PROGRAM ARGS...]";

  private ClusterMain() {}

  public static void main(String[] args) {
    if (args.length < 3) {
      System.err.println(USAGE);
      System.exit(2);
    }
    QuietLogging.applyIfUnconfigured();
    Path dir = Path.of(args[2]).toAbsolutePath();
    List<String> rest = new ArrayList<>(Arrays.asList(args).subList(3, args.length));
    try {
      switch (args[0] + " " + args[1]) {
        case "kafka start" -> {
          KafkaClusterProcesses cluster =
              KafkaClusterProcesses.builder(dir).brokers(intOption(rest, "--brokers", 3)).build();
          cluster.start();
          System.out.println("bootstrap.servers=" + cluster.bootstrapServers());
        }
        case "kafka stop" ->
            System.out.println("stopped " + KafkaClusterProcesses.stopRecorded(dir) + " brokers");
        case "flink start" -> {
          FlinkSessionProcesses cluster =
              FlinkSessionProcesses.builder(dir)
                  .taskManagers(intOption(rest, "--taskmanagers", 2))
                  .slots(intOption(rest, "--slots", 2))
                  .build();
          cluster.start();
          System.out.println("rest.url=" + cluster.restUrl());
        }
        case "flink stop" ->
            System.out.println(
                "stopped " + FlinkSessionProcesses.stopRecorded(dir) + " Flink processes");
        case "flink submit" -> {
          if (rest.isEmpty()) {
            throw new IllegalArgumentException("flink submit needs the job JAR");
          }
          Path jar = Path.of(rest.remove(0));
          String entry = "dev.reelflow.orchestrator.OrchestratorJob";
          if (rest.size() >= 2 && rest.get(0).equals("--class")) {
            entry = rest.get(1);
            rest = new ArrayList<>(rest.subList(2, rest.size()));
          }
          String jobId =
              FlinkSessionProcesses.submitJar(
                  FlinkSessionProcesses.recordedRestUrl(dir), jar, entry, rest);
          System.out.println("job.id=" + jobId);
        }
        default -> throw new IllegalArgumentException("unknown command " + args[0] + " " + args[1]);
      }
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
    } catch (StackException e) {
      System.err.println(e.getMessage());
      System.exit(1);
    }
  }

  private static int intOption(List<String> rest, String name, int fallback) {
    int i = rest.indexOf(name);
    if (i < 0) {
      return fallback;
    }
    if (i + 1 >= rest.size()) {
      throw new IllegalArgumentException(name + " needs a value");
    }
    return Integer.parseInt(rest.get(i + 1));
  }
}
