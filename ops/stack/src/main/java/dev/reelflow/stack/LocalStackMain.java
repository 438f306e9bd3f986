package dev.reelflow.stack;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Starts the whole local stack (broker, schema registry, S3) with its data in {@code ./.reelflow},
 * prints every address, writes {@code .reelflow/local.json} and runs until Ctrl-C.
 *
 * <p>Arguments (all optional): {@code --dir <path>} base directory instead of {@code .reelflow};
 * {@code --kafka-port}, {@code --registry-port}, {@code --s3-port} fixed ports instead of free
 * ones.
 */
public final class LocalStackMain {
  private LocalStackMain() {}

  public static void main(String[] args) throws InterruptedException {
    Path base = Path.of(".reelflow");
    LocalStack.Builder builder = LocalStack.builder().all();
    try {
      for (int i = 0; i < args.length; i++) {
        String value = i + 1 < args.length ? args[i + 1] : null;
        switch (args[i]) {
          case "--dir" -> base = Path.of(required(args[i], value));
          case "--kafka-port" -> builder.kafkaPort(Integer.parseInt(required(args[i], value)));
          case "--registry-port" ->
              builder.registryPort(Integer.parseInt(required(args[i], value)));
          case "--s3-port" -> builder.s3Port(Integer.parseInt(required(args[i], value)));
          default -> throw new IllegalArgumentException("Unknown option " + args[i]);
        }
        i++;
      }
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(
          "Usage: LocalStackMain [--dir <base dir>] [--kafka-port N] [--registry-port N]"
              + " [--s3-port N]   (default .reelflow, free ports)");
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

  private static String required(String option, String value) {
    if (value == null) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return value;
  }
}
