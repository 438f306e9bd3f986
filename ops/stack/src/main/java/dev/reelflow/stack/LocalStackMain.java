package dev.reelflow.stack;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Starts the whole local stack (broker, schema registry, S3) with its data in {@code ./.reelflow},
 * prints every address, writes {@code .reelflow/local.json} and runs until Ctrl-C.
 *
 * <p>Arguments (all optional): {@code --dir <path>} work directory instead of {@code .reelflow}.
 */
public final class LocalStackMain {
  private LocalStackMain() {}

  public static void main(String[] args) throws InterruptedException {
    Path base = Path.of(".reelflow");
    for (int i = 0; i < args.length; i++) {
      if ("--dir".equals(args[i]) && i + 1 < args.length) {
        base = Path.of(args[++i]);
      } else {
        System.err.println("Usage: LocalStackMain [--dir <work dir>]  (default .reelflow)");
        System.exit(2);
      }
    }
    QuietLogging.applyIfUnconfigured();
    long begin = System.nanoTime();
    LocalStack stack = LocalStack.builder().workDir(base.resolve("stack")).all().build();
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
}
