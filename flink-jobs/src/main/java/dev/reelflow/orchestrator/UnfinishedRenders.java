package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.ErrorInfo;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BiConsumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a job that starts without state (no retained checkpoint: a new machine, a deleted state
 * folder) must take over from the topics: every acknowledged render whose last status on the
 * compacted render.status is not final, or that has no status at all.
 *
 * <p>Why this and not "start from the earliest offsets": the job's consumer group has committed the
 * offsets of the requests the old job consumed, so a new job would never see them again, and
 * replaying every input topic from the start would re-run finished work. Instead the topics are
 * read once, bounded, before the job starts: render.status (compacted: the newest status of each
 * render) says which renders are unfinished, render.requests (7 days) holds their requests, and
 * render.stage-events (3 days) says which stages the workers already completed. Each unfinished
 * render is then
 *
 * <ul>
 *   <li>ended SUCCEEDED with the outputs its final stage reported, when that stage had completed
 *       (its final objects exist; nothing is rendered again);
 *   <li>re-dispatched otherwise, from the upscale stage when the base stage had completed, with an
 *       attempt number above every attempt made before, so tasks and late events of the lost job's
 *       attempts are fenced, and with versions above its last status, so readers never see it go
 *       back. Final objects are write-once ({@code If-None-Match: *}), so there is never a second
 *       final output;
 *   <li>ended FAILED with a reason when its request is no longer in render.requests (retention): it
 *       can neither be rendered nor left hanging.
 * </ul>
 */
final class UnfinishedRenders {
  private static final Logger LOG = LoggerFactory.getLogger(UnfinishedRenders.class);

  /** What the scan found. */
  record Found(List<RecoveredRender> recovered, List<RenderStatus> failed) {
    boolean isEmpty() {
      return recovered.isEmpty() && failed.isEmpty();
    }
  }

  private final OrchestratorConfig config;
  private final RecordCodec codec;
  private final Duration timeout;

  UnfinishedRenders(OrchestratorConfig config, RecordCodec codec, Duration timeout) {
    this.config = config;
    this.codec = codec;
    this.timeout = timeout;
  }

  /** Reads the topics up to their current ends (read_committed). */
  Found scan() {
    long t0 = System.nanoTime();
    try {
      codec.open();
    } catch (Exception e) {
      throw new StateRecoveryException("could not open the record codec: " + e, e);
    }
    Map<String, RenderStatus> last = new HashMap<>();
    readAll(
        TopicNames.STATUS,
        (key, value) -> {
          if (value instanceof RenderStatus s) {
            RenderStatus before = last.get(s.getRequestId());
            if (before == null || before.getVersion() < s.getVersion()) {
              last.put(s.getRequestId(), s);
            }
          }
        });
    Map<String, RenderRequest> requests = new LinkedHashMap<>();
    readAll(
        TopicNames.REQUESTS,
        (key, value) -> {
          if (value instanceof RenderRequest r && !finished(last.get(r.getRequestId()))) {
            requests.putIfAbsent(r.getRequestId(), r);
          }
        });
    Map<String, StageEvent> baseDone = new HashMap<>();
    Map<String, StageEvent> finalDone = new HashMap<>();
    readAll(
        TopicNames.STAGE_EVENTS,
        (key, value) -> {
          if (!(value instanceof StageEvent e) || e.getType() != StageEventType.COMPLETED) {
            return;
          }
          RenderRequest r = requests.get(e.getRequestId());
          if (r == null) {
            return;
          }
          boolean finalStage =
              e.getStage() == Stage.UPSCALE || r.getParams().getUpscale() == UpscaleTarget.NONE;
          (finalStage ? finalDone : baseDone).putIfAbsent(e.getRequestId(), e);
        });
    List<RecoveredRender> recovered = new ArrayList<>();
    for (RenderRequest r : requests.values()) {
      RecoveredRender rr = new RecoveredRender();
      rr.request = r;
      rr.lastStatus = last.get(r.getRequestId());
      rr.finalCompleted = finalDone.get(r.getRequestId());
      rr.baseCompleted = rr.finalCompleted == null ? baseDone.get(r.getRequestId()) : null;
      recovered.add(rr);
    }
    List<RenderStatus> failed = new ArrayList<>();
    long now = System.currentTimeMillis();
    for (RenderStatus s : last.values()) {
      if (!finished(s) && !requests.containsKey(s.getRequestId())) {
        failed.add(lost(s, now));
      }
    }
    LOG.info(
        "read the topics in {} ms after a start without state: {} renders with a status, {}"
            + " unfinished renders to take over, {} to end FAILED (request past retention)",
        (System.nanoTime() - t0) / 1_000_000,
        last.size(),
        recovered.size(),
        failed.size());
    return new Found(recovered, failed);
  }

  /** The FAILED status of an unfinished render whose request is gone. */
  static RenderStatus lost(RenderStatus s, long now) {
    ErrorInfo err =
        ErrorInfo.newBuilder()
            .setCode(ErrorCode.INTERNAL)
            .setMessage(
                "the orchestrator restarted without its state and render.requests no longer holds"
                    + " this render's request (past retention), so it cannot be rendered; it was "
                    + s.getState()
                    + ". Submit it again.")
            .setRetryable(false)
            .build();
    return RenderStatus.newBuilder(s)
        .setState(RenderState.FAILED)
        .setStep(null)
        .setTotalSteps(null)
        .setEtaMillis(null)
        .setQueuePosition(null)
        .setQueuePositionEstimated(false)
        .setOutputs(new ArrayList<>())
        .setError(err)
        .setVersion(
            ((s.getVersion() >>> RenderLifecycle.VERSION_SHIFT) + 1)
                << RenderLifecycle.VERSION_SHIFT)
        .setUpdatedAt(Instant.ofEpochMilli(now))
        .build();
  }

  static boolean finished(RenderStatus s) {
    if (s == null) {
      return false;
    }
    RenderState st = s.getState();
    return st == RenderState.SUCCEEDED
        || st == RenderState.FAILED
        || st == RenderState.CANCELLED
        || st == RenderState.EXPIRED;
  }

  private void readAll(String topic, BiConsumer<String, SpecificRecord> sink) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, config.groupId() + "-recovery-" + topic);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
    long deadline = System.nanoTime() + timeout.toNanos();
    int unreadable = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
      if (infos == null || infos.isEmpty()) {
        LOG.warn("topic {} does not exist; nothing to recover from it", topic);
        return;
      }
      List<TopicPartition> parts = new ArrayList<>();
      infos.forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      // With read_committed, the end offsets are the last stable offsets.
      Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(parts, timeout));
      end.entrySet().removeIf(e -> consumer.position(e.getKey(), timeout) >= e.getValue());
      while (!end.isEmpty()) {
        if (System.nanoTime() > deadline) {
          throw new StateRecoveryException(
              "reading "
                  + topic
                  + " to its end took longer than "
                  + timeout
                  + " (left: "
                  + end
                  + "); the job does not start without knowing the unfinished renders",
              null);
        }
        for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
          if (rec.value() == null) {
            continue;
          }
          try {
            String key = rec.key() == null ? null : new String(rec.key(), StandardCharsets.UTF_8);
            sink.accept(key, codec.decode(topic, rec.value()));
          } catch (Exception e) {
            unreadable++;
          }
        }
        end.entrySet().removeIf(e -> consumer.position(e.getKey(), timeout) >= e.getValue());
      }
    } catch (StateRecoveryException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new StateRecoveryException(
          "could not read " + topic + " at " + config.bootstrapServers() + ": " + e, e);
    }
    if (unreadable > 0) {
      // The job's own source dead-letters such records; here they are only skipped.
      LOG.warn("{} unreadable records skipped while reading {}", unreadable, topic);
    }
  }
}
