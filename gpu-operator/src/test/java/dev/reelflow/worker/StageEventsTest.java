package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** How a final event (COMPLETED, FAILED) waits for Kafka's acknowledgement. */
class StageEventsTest {
  private final MockProducer<String, SpecificRecord> producer =
      new MockProducer<>(false, null, new StringSerializer(), (topic, v) -> new byte[0]);
  private final StageEvents events =
      new StageEvents(
          producer,
          new StageEvents.Identity("w-1", Stage.BASE, "cpu", 0, "emulated"),
          Duration.ofMillis(100));
  private final RenderTask task = OrchestratorDouble.task("r-ack", 1, 17, 2, false, 30_000);

  private CompletableFuture<Void> completeInBackground() {
    return CompletableFuture.runAsync(
        () -> {
          try {
            events.completed(task, List.of(), Map.of());
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
  }

  /**
   * A broker frozen past the wait: the record is still in flight in the producer, so a second copy
   * would be written once the broker answers (two COMPLETED records of one attempt). One send only.
   */
  @Test
  void aSlowAcknowledgementIsAwaitedNotSentAgain() throws Exception {
    CompletableFuture<Void> done = completeInBackground();
    Thread.sleep(450); // several waits of 100 ms run out
    assertThat(done).isNotDone();
    assertThat(producer.history()).hasSize(1);
    assertThat(producer.completeNext()).isTrue();
    done.get(5, TimeUnit.SECONDS);
    assertThat(producer.history()).hasSize(1);
  }

  @Test
  void aRefusedSendIsSentAgainWithTheSameEventId() throws Exception {
    CompletableFuture<Void> done = completeInBackground();
    awaitSends(1);
    assertThat(producer.errorNext(new NotLeaderOrFollowerException("moved"))).isTrue();
    awaitSends(2);
    assertThat(producer.completeNext()).isTrue();
    done.get(5, TimeUnit.SECONDS);
    List<String> ids =
        producer.history().stream().map(r -> ((StageEvent) r.value()).getEventId()).toList();
    assertThat(ids).hasSize(2);
    assertThat(ids.get(1)).isEqualTo(ids.get(0));
  }

  private void awaitSends(int n) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (producer.history().size() < n && System.nanoTime() < end) {
      Thread.sleep(10);
    }
    assertThat(producer.history()).hasSize(n);
  }
}
