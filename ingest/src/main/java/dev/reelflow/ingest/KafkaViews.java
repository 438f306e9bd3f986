package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Schedule;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.schemas.serde.AvroRecordDeserializer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The readers that replay the compacted topics (render.status, render.schedules, the idempotency
 * ledger, render.lineage) into the in-memory views, so every instance answers from the same state;
 * they run in the background so that an unreachable cluster does not hold up start.
 */
final class KafkaViews implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaViews.class);

  private final CompactedTopicReader statusReader;
  private final CompactedTopicReader scheduleReader;
  private final CompactedTopicReader ledgerReader;
  private final CompactedTopicReader lineageReader;

  private KafkaViews(
      IngestConfig config,
      SchemaRegistryClient registry,
      ObjectMapper json,
      StatusView statuses,
      ScheduleView schedules,
      IdempotencyLedger ledger,
      LineageView lineage) {
    AvroRecordDeserializer<RenderStatus> statusReaderDe =
        AvroRecordDeserializer.builder(RenderStatus.class).client(registry).build();
    AvroRecordDeserializer<Schedule> scheduleDe =
        AvroRecordDeserializer.builder(Schedule.class).client(registry).build();
    statusReader =
        new CompactedTopicReader(
            config.bootstrapServers(),
            config.get(IngestConfig.TOPIC_STATUS),
            config.instanceId(),
            r -> {
              if (r.value() == null) {
                statuses.remove(r.key());
              } else {
                statuses.apply(statusReaderDe.deserialize(r.topic(), r.value()));
              }
            },
            statuses::goLive);
    scheduleReader =
        new CompactedTopicReader(
            config.bootstrapServers(),
            config.get(IngestConfig.TOPIC_SCHEDULES),
            config.instanceId(),
            r ->
                schedules.apply(
                    r.key(),
                    r.value() == null ? null : scheduleDe.deserialize(r.topic(), r.value())),
            () -> {});
    ledgerReader =
        new CompactedTopicReader(
            config.bootstrapServers(),
            config.get(IngestConfig.TOPIC_IDEMPOTENCY),
            config.instanceId(),
            r -> ledger.apply(r.key(), r.value()),
            () -> {});
    lineageReader =
        new CompactedTopicReader(
            config.bootstrapServers(),
            config.get(IngestConfig.TOPIC_LINEAGE),
            config.instanceId(),
            r -> {
              if (r.key() != null && r.value() != null) {
                lineage.append(r.key(), LineageView.checked(json, r.value()));
              }
            },
            lineage::replayed);
  }

  /** Creates the idempotency topic (in the background) and starts the four readers. */
  static KafkaViews start(
      IngestConfig config,
      SchemaRegistryClient registry,
      ObjectMapper json,
      StatusView statuses,
      ScheduleView schedules,
      IdempotencyLedger ledger,
      LineageView lineage) {
    // In the background: an unreachable cluster must not hold up start (see /readyz).
    Thread creator = new Thread(() -> ensureIdempotencyTopic(config), "reelflow-idempotency-topic");
    creator.setDaemon(true);
    creator.start();
    KafkaViews views = new KafkaViews(config, registry, json, statuses, schedules, ledger, lineage);
    for (CompactedTopicReader r : views.readers()) {
      r.start();
    }
    return views;
  }

  private List<CompactedTopicReader> readers() {
    return List.of(statusReader, scheduleReader, ledgerReader, lineageReader);
  }

  /** Whether render.status has been replayed once (the status view answers from then on). */
  boolean statusReplayed() {
    return statusReader.replayed();
  }

  /** Waits until the status view has replayed render.status (false after the timeout). */
  boolean awaitStatusReplayed(Duration timeout) throws InterruptedException {
    return statusReader.awaitReplayed(timeout);
  }

  /** Lets a request wait until a view has read what was written before it. */
  IngestServices.Catchup catchup() {
    return new IngestServices.Catchup() {
      @Override
      public boolean statuses(Duration t) {
        return statusReader.catchUp(t);
      }

      @Override
      public boolean schedules(Duration t) {
        return scheduleReader.catchUp(t);
      }

      @Override
      public boolean ledger(Duration t) {
        return ledgerReader.catchUp(t);
      }

      @Override
      public boolean lineage(Duration t) {
        return lineageReader.catchUp(t);
      }
    };
  }

  /** Stops the readers, the last started first. */
  @Override
  public void close() {
    List<CompactedTopicReader> readers = readers();
    for (int i = readers.size() - 1; i >= 0; i--) {
      try {
        readers.get(i).close();
      } catch (Exception e) {
        LOG.warn("Closing {} failed: {}", readers.get(i).getClass().getSimpleName(), e.toString());
      }
    }
  }

  private static void ensureIdempotencyTopic(IngestConfig config) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
    try (Admin admin = Admin.create(p)) {
      String name = config.get(IngestConfig.TOPIC_IDEMPOTENCY);
      NewTopic t =
          new NewTopic(name, Optional.of(3), Optional.empty())
              .configs(Map.of("cleanup.policy", "compact"));
      admin.createTopics(List.of(t)).all().get(10, TimeUnit.SECONDS);
      LOG.info("Created compacted topic {}", name);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        LOG.warn(
            "Could not create the idempotency topic (will retry on use): {}",
            e.getCause().toString());
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn("Could not create the idempotency topic: {}", e.toString());
    }
  }
}
