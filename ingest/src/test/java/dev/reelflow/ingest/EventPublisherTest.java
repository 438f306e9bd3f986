package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** How a failed acknowledgement reaches callers: always a PublishException (a 503 upstream). */
class EventPublisherTest {

  @Test
  void anAcknowledgementThatTimedOutIsAPublishException() {
    CompletableFuture<Void> ack = new CompletableFuture<Void>().orTimeout(1, TimeUnit.MILLISECONDS);
    Throwable failure = ack.handle((ok, t) -> t).join();
    EventPublisher.PublishException e = EventPublisher.cause(failure);
    assertThat(e.getCause()).isInstanceOf(TimeoutException.class);
  }

  @Test
  void aPublishExceptionInsideTheFutureIsReturnedAsItIs() {
    EventPublisher.PublishException refused = new EventPublisher.PublishException("refused", null);
    Throwable failure =
        CompletableFuture.<Void>failedFuture(refused).thenRun(() -> {}).handle((ok, t) -> t).join();
    assertThat(EventPublisher.cause(failure)).isSameAs(refused);
  }

  @Test
  void anUncheckedFailureIsRethrown() {
    IllegalStateException bug = new IllegalStateException("bug");
    assertThatThrownBy(
            () -> EventPublisher.cause(new java.util.concurrent.CompletionException(bug)))
        .isSameAs(bug);
  }
}
