package dev.reelflow.engine.backend;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.atomic.AtomicInteger;

/** Fixed-size worker pool that splits index ranges into contiguous chunks. */
final class Parallel implements AutoCloseable {
  /** Body of a parallel loop over {@code [start, end)}. */
  interface RangeBody {
    void run(int start, int end);
  }

  private final int threads;
  private final ForkJoinPool pool;

  Parallel(int threads) {
    this.threads = threads;
    AtomicInteger seq = new AtomicInteger();
    this.pool =
        new ForkJoinPool(
            threads,
            p -> {
              var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
              t.setName("reelflow-engine-cpu-" + seq.incrementAndGet());
              t.setDaemon(true);
              return t;
            },
            null,
            false);
  }

  int threads() {
    return threads;
  }

  /**
   * Runs body over [0, n) in at most {@code threads * 4} contiguous chunks of at least {@code
   * minChunk} indices. The chunking depends only on n, minChunk and the thread count, so results
   * that depend on it are reproducible.
   */
  void forRange(int n, int minChunk, RangeBody body) {
    if (n <= 0) {
      return;
    }
    int chunks = Math.min(threads * 4, Math.max(1, n / Math.max(1, minChunk)));
    if (threads == 1 || chunks <= 1 || ForkJoinTask.inForkJoinPool()) {
      body.run(0, n);
      return;
    }
    pool.invoke(new Chunks(body, n, chunks, 0, chunks));
  }

  /** One index per task (for coarse work items such as attention tiles), dynamic scheduling. */
  void forEach(int n, RangeBody body) {
    if (n <= 0) {
      return;
    }
    if (threads == 1 || n == 1 || ForkJoinTask.inForkJoinPool()) {
      body.run(0, n);
      return;
    }
    pool.invoke(new Chunks(body, n, n, 0, n));
  }

  private static final class Chunks extends RecursiveAction {
    private final RangeBody body;
    private final int n;
    private final int chunks;
    private final int from;
    private final int to;

    Chunks(RangeBody body, int n, int chunks, int from, int to) {
      this.body = body;
      this.n = n;
      this.chunks = chunks;
      this.from = from;
      this.to = to;
    }

    @Override
    protected void compute() {
      if (to - from == 1) {
        int start = (int) ((long) n * from / chunks);
        int end = (int) ((long) n * (from + 1) / chunks);
        if (end > start) {
          body.run(start, end);
        }
        return;
      }
      int mid = (from + to) >>> 1;
      invokeAll(new Chunks(body, n, chunks, from, mid), new Chunks(body, n, chunks, mid, to));
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
