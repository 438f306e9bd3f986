package dev.reelflow.ingest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Test double of {@link EventPublisher}: keeps what was published; can be told to fail. */
final class InMemoryPublisher implements EventPublisher {
  final List<Outgoing> records = new ArrayList<>();
  volatile boolean failing;
  volatile int transactions;
  volatile int aborted;

  /** Records that were sent into transactions that were then aborted. */
  volatile int abortedRecords;

  /** Runs inside each commit, before it succeeds or (with {@link #failingCommits}) fails. */
  volatile Runnable duringCommit = () -> {};

  /** While set, sends succeed and commits fail, as a broker lost between the two would. */
  volatile boolean failingCommits;

  /** While set, single records are kept but their acknowledgements wait for {@link #ack}. */
  volatile boolean holdingAcks;

  private final List<CompletableFuture<Void>> held = new ArrayList<>();

  @Override
  public synchronized CompletableFuture<Void> sendAsync(Outgoing record) {
    if (failing) {
      return CompletableFuture.failedFuture(new PublishException("emulated Kafka outage", null));
    }
    records.add(record);
    if (holdingAcks) {
      CompletableFuture<Void> ack = new CompletableFuture<>();
      held.add(ack);
      return ack;
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Completes the held acknowledgements, or fails them as a broker that gave up would. */
  void ack(boolean delivered) {
    List<CompletableFuture<Void>> now;
    synchronized (this) {
      now = new ArrayList<>(held);
      held.clear();
      holdingAcks = false;
    }
    for (CompletableFuture<Void> f : now) {
      if (delivered) {
        f.complete(null);
      } else {
        f.completeExceptionally(new PublishException("emulated delivery timeout", null));
      }
    }
  }

  synchronized int heldAcks() {
    return held.size();
  }

  /** Transactions keep their records aside until the commit; {@link #aborted} counts the rest. */
  @Override
  public Transaction begin() throws PublishException {
    if (failing) {
      throw new PublishException("emulated Kafka outage", null);
    }
    List<Outgoing> pending = new ArrayList<>();
    return new Transaction() {
      boolean ended;

      @Override
      public void send(Outgoing record) throws PublishException {
        if (failing) {
          close();
          throw new PublishException("emulated Kafka outage", null);
        }
        pending.add(record);
      }

      @Override
      public void commit() throws PublishException {
        duringCommit.run();
        if (failing || failingCommits) {
          close();
          throw new PublishException("emulated Kafka outage", null);
        }
        synchronized (InMemoryPublisher.this) {
          ended = true;
          transactions++;
          records.addAll(pending);
        }
      }

      @Override
      public void close() {
        synchronized (InMemoryPublisher.this) {
          if (!ended) {
            ended = true;
            aborted++;
            abortedRecords += pending.size();
          }
        }
      }
    };
  }

  synchronized List<Outgoing> on(String topic) {
    List<Outgoing> out = new ArrayList<>();
    for (Outgoing o : records) {
      if (o.topic().equals(topic)) {
        out.add(o);
      }
    }
    return out;
  }

  synchronized int size() {
    return records.size();
  }

  @Override
  public boolean reachable(Duration timeout) {
    return !failing;
  }

  @Override
  public void close() {}
}
