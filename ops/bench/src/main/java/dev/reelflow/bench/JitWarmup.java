package dev.reelflow.bench;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * Repeats a suite's untimed pass until the JIT has settled: until the JIT compiler threads used at
 * most {@link #SETTLED} of a pass's wall time in CPU. One pass is not enough where the embedded
 * broker, registry and HTTP server share the JVM: on 2 cores the compiler threads took as much CPU
 * inside the ingest suite's timed batch blocks as the request threads after one warm-up pass, and
 * the path with more code to compile (ingest, against the plain producer) looked slower than it
 * runs in a service that has been up for minutes.
 */
final class JitWarmup {
  /** Compiler CPU per pass, as a fraction of the pass's wall time, that counts as settled. */
  static final double SETTLED = 0.10;

  /**
   * What the warm-up did.
   *
   * @param passes the passes run
   * @param seconds their wall time
   * @param lastPassJitShare compiler time / wall time of the last pass, -1 when not measured
   * @param settled whether the last pass was at or below {@link #SETTLED} (false: the budget ran
   *     out, or nothing measures the JIT)
   * @param measure what the compiler time is
   */
  record Result(
      int passes, double seconds, double lastPassJitShare, boolean settled, String measure) {
    String describe() {
      String done = passes + " untimed pass(es) of every measurement (both sides), ";
      done += String.format("%.0f s", seconds);
      if (lastPassJitShare < 0) {
        return done + " (the JIT's work is not measured on this machine)";
      }
      return done
          + (settled
              ? String.format(
                  ", until the %s was at most %.0f%% of a pass (last: %.1f%%)",
                  measure, SETTLED * 100, lastPassJitShare * 100)
              : String.format(
                  "; the %s was still %.1f%% of the last pass when the warm-up budget ran out",
                  measure, lastPassJitShare * 100));
    }
  }

  /** One untimed pass. */
  interface Pass {
    void run() throws Exception;
  }

  /** Milliseconds of compiler work so far, or -1 when not measured. */
  private final LongSupplier jitMillis;

  private final LongSupplier nanoTime;
  private final String measure;

  private JitWarmup(LongSupplier jitMillis, LongSupplier nanoTime, String measure) {
    this.jitMillis = jitMillis;
    this.nanoTime = nanoTime;
    this.measure = measure;
  }

  /** This JVM's compiler threads; a JVM where nothing measures them gets exactly the minimum. */
  static JitWarmup ofThisJvm() {
    return new JitWarmup(JitWarmup::compilerMillis, System::nanoTime, measure());
  }

  /** For tests: compiler time and clock from the caller. */
  static JitWarmup of(LongSupplier jitMillis, LongSupplier nanoTime) {
    return new JitWarmup(jitMillis, nanoTime, "compiler time");
  }

  /**
   * Milliseconds of JIT work so far: the CPU time of HotSpot's compiler threads where Linux's
   * {@code /proc} lists them; else the JVM's elapsed compile time (which also counts a compilation
   * waiting for a core); -1 when neither is available.
   */
  static long compilerMillis() {
    long cpu = compilerThreadsCpuMillis();
    if (cpu >= 0) {
      return cpu;
    }
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported()
        ? jit.getTotalCompilationTime()
        : -1;
  }

  /** What {@link #compilerMillis()} measures here, for the notes. */
  static String measure() {
    return compilerThreadsCpuMillis() >= 0
        ? "JIT compiler threads' CPU time"
        : "JVM's elapsed compile time";
  }

  /**
   * The CPU time of the threads named {@code C1/C2 CompilerThread<n>} ({@code /proc/self/task}, in
   * clock ticks of 10 ms), or -1 when they cannot be read. A compiler thread that exited took its
   * time with it, so a window's difference can come out low, never high.
   */
  private static long compilerThreadsCpuMillis() {
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      return -1;
    }
    long ticks = 0;
    boolean found = false;
    try (Stream<Path> all = Files.list(tasks)) {
      for (Path task : (Iterable<Path>) all::iterator) {
        try {
          String comm = Files.readString(task.resolve("comm")).trim();
          if (!comm.matches("C[12] CompilerThre.*")) {
            continue;
          }
          String stat = Files.readString(task.resolve("stat"));
          // After "(comm) ": state is field 3; utime and stime are fields 14 and 15.
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
          found = true;
        } catch (IOException | RuntimeException e) {
          // the thread ended while listing
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return found ? ticks * 10 : -1;
  }

  /**
   * Runs {@code pass} at least {@code minPasses} times, then until a pass settled or {@code budget}
   * is spent (a pass is never cut short).
   */
  Result run(Pass pass, int minPasses, Duration budget, Progress progress) throws Exception {
    if (minPasses < 1) {
      throw new IllegalArgumentException("minPasses must be at least 1, was " + minPasses);
    }
    long start = nanoTime.getAsLong();
    long deadline = start + budget.toNanos();
    int passes = 0;
    double share;
    boolean settled;
    do {
      long j0 = jitMillis.getAsLong();
      long t0 = nanoTime.getAsLong();
      pass.run();
      passes++;
      long wallMillis = Math.max(1, (nanoTime.getAsLong() - t0) / 1_000_000);
      share = j0 < 0 ? -1 : Math.max(0, jitMillis.getAsLong() - j0) / (double) wallMillis;
      settled = share >= 0 && share <= SETTLED;
      progress.step(
          "warm-up pass "
              + passes
              + (share >= 0 ? String.format(": %s %.0f%% of it", measure, share * 100) : ""));
    } while (passes < minPasses || (!settled && share >= 0 && nanoTime.getAsLong() - deadline < 0));
    return new Result(passes, (nanoTime.getAsLong() - start) / 1e9, share, settled, measure);
  }
}
