package dev.reelflow.stack;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Measures how long the whole local stack takes to start: a cold start (first in this JVM, fresh
 * work dir), warm starts on fresh work dirs, and a restart on an existing work dir. Not a test.
 *
 * <p>Run: {@code mvn -B -o -q -pl ops/stack test-compile exec:java -Dexec.classpathScope=test
 * -Dexec.mainClass=dev.reelflow.stack.StackStartupBenchmark}
 */
public final class StackStartupBenchmark {
  private StackStartupBenchmark() {}

  public static void main(String[] args) throws Exception {
    int warmRuns = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    Path kept = Files.createTempDirectory("reelflow-bench-");
    try {
      run("cold start, fresh work dir", kept);
      for (int i = 1; i <= warmRuns; i++) {
        Path fresh = Files.createTempDirectory("reelflow-bench-");
        try {
          run("warm start " + i + ", fresh work dir", fresh);
        } finally {
          LocalStack.deleteRecursively(fresh);
        }
      }
      run("restart on the existing work dir", kept);
    } finally {
      LocalStack.deleteRecursively(kept);
    }
    double[] load = {
      java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()
    };
    System.out.printf(
        "cores %d, system load average %.1f%n",
        Runtime.getRuntime().availableProcessors(), load[0]);
  }

  private static void run(String label, Path workDir) {
    long begin = System.nanoTime();
    LocalStack stack = LocalStack.builder().workDir(workDir).all().build();
    long t0 = System.nanoTime();
    stack.kafka().start();
    long t1 = System.nanoTime();
    stack.registry().start();
    long t2 = System.nanoTime();
    stack.s3().start();
    long t3 = System.nanoTime();
    stack.close();
    long t4 = System.nanoTime();
    System.out.printf(
        "%-36s total %6d ms (kafka %6d, registry %5d, s3 %5d) close %5d ms%n",
        label,
        (t3 - begin) / 1_000_000,
        (t1 - t0) / 1_000_000,
        (t2 - t1) / 1_000_000,
        (t3 - t2) / 1_000_000,
        (t4 - t3) / 1_000_000);
  }
}
