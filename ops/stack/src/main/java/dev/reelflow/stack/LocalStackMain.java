package dev.reelflow.stack;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * Starts the local stack (broker, schema registry, S3, or a choice of them) with its data in {@code
 * ./.reelflow}, prints every address, writes {@code local.json} in that directory and runs until
 * Ctrl-C or SIGTERM.
 *
 * <p>Arguments (all optional): {@code --dir <path>} base directory instead of {@code .reelflow};
 * {@code --services kafka,registry,s3} which services (default all three); {@code
 * --bootstrap-servers <list>} an existing Kafka cluster for the registry instead of the embedded
 * broker (the ops/cluster scripts run the registry and the S3 endpoint this way, each in its own
 * JVM, against the three-broker cluster); {@code --kafka-port}, {@code --registry-port}, {@code
 * --s3-port} fixed ports instead of free ones.
 */
public final class LocalStackMain {
  private static final String USAGE =
      "Usage: LocalStackMain [--dir <base dir>] [--services kafka,registry,s3]"
          + " [--bootstrap-servers <external Kafka>] [--kafka-port N] [--registry-port N]"
          + " [--s3-port N]   (default .reelflow, all services, free ports)";

  private LocalStackMain() {}

  public static void main(String[] args) throws InterruptedException {
    Path base = Path.of(".reelflow");
    LocalStack.Builder builder = LocalStack.builder();
    Set<String> services = new LinkedHashSet<>(Set.of("kafka", "registry", "s3"));
    String external = null;
    try {
      for (int i = 0; i < args.length; i++) {
        String value = i + 1 < args.length ? args[i + 1] : null;
        switch (args[i]) {
          case "--dir" -> base = Path.of(required(args[i], value));
          case "--services" -> services = services(required(args[i], value));
          case "--bootstrap-servers" -> external = required(args[i], value);
          case "--kafka-port" -> builder.kafkaPort(Integer.parseInt(required(args[i], value)));
          case "--registry-port" ->
              builder.registryPort(Integer.parseInt(required(args[i], value)));
          case "--s3-port" -> builder.s3Port(Integer.parseInt(required(args[i], value)));
          default -> throw new IllegalArgumentException("Unknown option " + args[i]);
        }
        i++;
      }
      if (external != null) {
        if (services.contains("kafka")) {
          // An external cluster replaces the embedded broker; asking for both is a mistake.
          services.remove("kafka");
          if (services.isEmpty()) {
            throw new IllegalArgumentException(
                "--bootstrap-servers replaces the embedded broker: choose registry and/or s3");
          }
        }
        builder.externalKafka(external);
      }
      if (services.contains("kafka")) {
        builder.kafka();
      }
      if (services.contains("registry")) {
        builder.registry();
      }
      if (services.contains("s3")) {
        builder.s3();
      }
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
    }
    QuietLogging.applyIfUnconfigured();
    long begin = System.nanoTime();
    LocalStack stack = builder.workDir(base.resolve("stack")).build();
    stack.registerShutdownHook();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown, "reelflow-main-exit"));
    stack.start();
    Path json = base.resolve("local.json");
    stack.info().writeTo(json);
    System.out.printf(
        "ReelFlow local stack up in %d ms:%n%s  (written to %s; Ctrl-C stops)%n",
        (System.nanoTime() - begin) / 1_000_000, stack.describe(), json);
    stopped.await();
  }

  static Set<String> services(String list) {
    Set<String> chosen = new LinkedHashSet<>();
    for (String s : Arrays.stream(list.split(",")).map(String::trim).toList()) {
      if (!Set.of("kafka", "registry", "s3").contains(s)) {
        throw new IllegalArgumentException(
            "Unknown service '" + s + "' in --services (kafka, registry, s3)");
      }
      chosen.add(s);
    }
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException("--services needs at least one of kafka, registry, s3");
    }
    return chosen;
  }

  private static String required(String option, String value) {
    if (value == null) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return value;
  }
}
