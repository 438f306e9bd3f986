package dev.reelflow.ingest;

import dev.reelflow.schemas.avro.RenderRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A batch's renders on their way into one Kafka transaction. When {@code streaming}, each valid row
 * is sent as soon as it validated, so the producer and the broker work while later rows are still
 * being checked; the first invalid row aborts the transaction and nothing more is sent. Rows with
 * an image, and every row when not streaming, wait for {@link #sendRest}: an image is stored or
 * read only for a batch that passed validation.
 */
final class BatchPublication implements AutoCloseable {
  private final IngestServices s;
  private final String tenant;
  private final String batchId;
  private final Instant now;
  private final String topic;
  private final List<RenderSubmission> held = new ArrayList<>();
  private final List<RenderRequest> requests = new ArrayList<>();
  private boolean sending;
  private boolean rejected;
  private EventPublisher.Transaction tx;
  private EventPublisher.PublishException unavailable;

  BatchPublication(
      IngestServices s, String tenant, String batchId, Instant now, boolean streaming) {
    this.s = s;
    this.tenant = tenant;
    this.batchId = batchId;
    this.now = now;
    this.topic = s.topic(IngestConfig.TOPIC_REQUESTS);
    this.sending = streaming;
  }

  /** The batch's next row, which validated. */
  void add(RenderSubmission sub) {
    if (rejected) {
      return;
    }
    if (sending && sub.image() == null) {
      send(sub);
    } else {
      sending = false; // keeps the rows in order: everything after a held row is held too
      held.add(sub);
    }
  }

  /** A row failed validation: the batch will not be published. */
  void reject() {
    rejected = true;
    held.clear();
    close();
  }

  /**
   * Sends the held rows and {@code alongside} (the idempotency record, or null); {@link #commit}
   * follows.
   *
   * @return the published requests, in row order
   * @throws ApiException when a held row's image cannot be used or stored; nothing is published
   */
  List<RenderRequest> sendRest(EventPublisher.Outgoing alongside)
      throws EventPublisher.PublishException {
    if (rejected) {
      throw new IllegalStateException("A rejected batch is not published");
    }
    for (RenderSubmission sub : held) {
      send(sub);
    }
    held.clear();
    if (unavailable != null) {
      throw unavailable;
    }
    if (alongside != null) {
      tx.send(alongside);
    }
    return requests;
  }

  /** Commits what {@link #sendRest} completed: every row, or (on an exception) none. */
  void commit() throws EventPublisher.PublishException {
    tx.commit();
    tx = null;
  }

  private void send(RenderSubmission sub) {
    if (unavailable != null) {
      return; // validation goes on: a client hears about invalid rows before a Kafka outage
    }
    int row = requests.size();
    String id = Ids.batchRow(batchId, row);
    RenderSubmission resolved =
        s.images().resolve(sub, tenant, id, now, "rows[" + row + "].imageUrl");
    RenderRequest r = resolved.toRequest(id, tenant, Ids.derivedSeed(id), batchId, row, null, now);
    try {
      if (tx == null) {
        tx = s.publisher().begin();
      }
      tx.send(new EventPublisher.Outgoing(topic, id, r));
    } catch (EventPublisher.PublishException e) {
      unavailable = e;
      tx = null; // a failed begin or send has already ended it
      return;
    }
    requests.add(r);
  }

  /** Aborts the transaction unless it was committed. */
  @Override
  public void close() {
    if (tx != null) {
      tx.close();
      tx = null;
    }
  }
}
