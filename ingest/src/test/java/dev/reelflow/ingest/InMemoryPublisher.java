package dev.reelflow.ingest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Test double of {@link EventPublisher}: keeps what was published; can be told to fail. */
final class InMemoryPublisher implements EventPublisher {
  final List<Outgoing> records = new ArrayList<>();
  volatile boolean failing;
  volatile int transactions;

  @Override
  public synchronized void send(Outgoing record) throws PublishException {
    if (failing) {
      throw new PublishException("emulated Kafka outage", null);
    }
    records.add(record);
  }

  @Override
  public synchronized void sendAll(List<Outgoing> batch) throws PublishException {
    if (failing) {
      throw new PublishException("emulated Kafka outage", null);
    }
    transactions++;
    records.addAll(batch);
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
