package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.config.Setting;
import dev.reelflow.storage.ArtifactStore;
import java.time.Clock;
import java.util.Optional;

/**
 * What the route handlers share; built once by {@link IngestServer}. {@code store} is the object
 * store (renders' manifests, inline reference images), empty where no {@code s3.endpoint} is
 * configured; {@code images} checks and stores the reference images of image-to-video requests.
 */
record IngestServices(
    IngestConfig config,
    ObjectMapper json,
    EventPublisher publisher,
    StatusView statuses,
    ScheduleView schedules,
    LineageView lineage,
    IdempotencyLedger ledger,
    Catchup catchup,
    TenantLimits limits,
    IngestMetrics metrics,
    RenderJson renderJson,
    Optional<ArtifactStore> store,
    ImageInputs images,
    PromptLength prompts,
    Clock clock) {

  /** Read-your-writes across instances: wait until a view has applied the topic's end. */
  interface Catchup {
    boolean statuses(java.time.Duration timeout);

    boolean schedules(java.time.Duration timeout);

    boolean ledger(java.time.Duration timeout);

    boolean lineage(java.time.Duration timeout);

    /** Views fed directly (tests without Kafka) are always caught up. */
    Catchup NONE =
        new Catchup() {
          @Override
          public boolean statuses(java.time.Duration t) {
            return true;
          }

          @Override
          public boolean schedules(java.time.Duration t) {
            return true;
          }

          @Override
          public boolean ledger(java.time.Duration t) {
            return true;
          }

          @Override
          public boolean lineage(java.time.Duration t) {
            return true;
          }
        };
  }

  String topic(Setting<String> topic) {
    return config.get(topic);
  }
}
