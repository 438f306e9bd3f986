package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.schemas.DeadLetters;
import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.Manifest;
import dev.reelflow.storage.StoredObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checker itself, on fabricated histories: a clean one passes, and each kind of broken promise
 * (a lost render, a duplicate completion or output, a status going back, a contradicted final
 * state, an output left by a failed render, a checksum mismatch, an unexpected or missing dead
 * letter) fails with a violation naming it, so a green fault suite means something.
 */
class RenderHistoryCheckerTest {
  static final Instant T0 = Instant.parse("2026-12-06T10:00:00Z");
  static final String TENANT = "demo";

  RenderHistory history;
  List<RenderStatus> statuses;
  List<StageEvent> events;
  List<EventLog.Dead> dead;
  FakeBucket bucket;

  @BeforeEach
  void clean() {
    history = new RenderHistory("unit");
    statuses = new ArrayList<>();
    events = new ArrayList<>();
    dead = new ArrayList<>();
    bucket = new FakeBucket();
  }

  /** A render that ran attempt 1 of BASE and succeeded, with its three final objects. */
  void succeeded(String id) {
    history.submitted();
    history.acknowledged(id);
    status(id, RenderState.ACCEPTED, 0, 1, 1);
    status(id, RenderState.QUEUED, 1, 2, 2);
    status(id, RenderState.RENDERING, 1, 3, 3);
    event(id, 1, StageEventType.STARTED, 3);
    event(id, 1, StageEventType.COMPLETED, 9);
    status(id, RenderState.SUCCEEDED, 1, 4, 10);
    publishFinals(id);
  }

  void publishFinals(String id) {
    String prefix = ArtifactKeys.finalPrefix(TENANT, T0, id);
    byte[] video = ("video of " + id).getBytes(StandardCharsets.UTF_8);
    byte[] poster = ("poster of " + id).getBytes(StandardCharsets.UTF_8);
    bucket.put(prefix + ArtifactKeys.VIDEO_FILE, video);
    bucket.put(prefix + ArtifactKeys.POSTER_FILE, poster);
    bucket.put(prefix + ArtifactKeys.MANIFEST_FILE, manifest(id, prefix, video, poster));
  }

  static byte[] manifest(String id, String prefix, byte[] video, byte[] poster) {
    return Manifest.builder()
        .requestId(id)
        .tenant(TENANT)
        .prompt("a fabricated render")
        .seed(7)
        .mode("t2v")
        .resolution("preview", 320, 176)
        .upscale("none")
        .aspectRatio("16:9")
        .frames(17)
        .fps(24)
        .steps(4)
        .guidance(6.0)
        .modelId("emulated")
        .weightsId(Manifest.RANDOM_INIT)
        .engine("emulated")
        .backend("cpu")
        .device("cpu")
        .addOutput(
            new Manifest.Output(
                "video",
                prefix + ArtifactKeys.VIDEO_FILE,
                video.length,
                RenderHistoryChecker.sha256(video),
                "video/mp4"))
        .addOutput(
            new Manifest.Output(
                "poster",
                prefix + ArtifactKeys.POSTER_FILE,
                poster.length,
                RenderHistoryChecker.sha256(poster),
                "image/jpeg"))
        .lineageRunId("00000000-0000-0000-0000-000000000001")
        .createdAt(T0)
        .build()
        .toJsonBytes();
  }

  void status(String id, RenderState state, int attempt, long seq, long atSeconds) {
    statuses.add(statusOf(id, state, attempt, seq, atSeconds));
  }

  RenderStatus statusOf(String id, RenderState state, int attempt, long seq, long atSeconds) {
    return RenderStatus.newBuilder()
        .setRequestId(id)
        .setTenant(TENANT)
        .setState(state)
        .setStage(Stage.BASE)
        .setAttempt(attempt)
        .setAttempts(Math.max(1, attempt))
        .setPrompt("a fabricated render")
        .setVersion(seq << 20)
        .setCreatedAt(T0)
        .setUpdatedAt(T0.plusSeconds(atSeconds))
        .build();
  }

  void event(String id, int attempt, StageEventType type, long atSeconds) {
    events.add(
        StageEvent.newBuilder()
            .setEventId(id + "-" + attempt + "-" + type + "-" + atSeconds)
            .setTaskId(id + ":BASE:" + attempt)
            .setRequestId(id)
            .setTenant(TENANT)
            .setStage(Stage.BASE)
            .setAttempt(attempt)
            .setWorkerId("w-" + attempt)
            .setType(type)
            .setAt(T0.plusSeconds(atSeconds))
            .build());
  }

  void deadLetter(String topic, int partition, long offset, String requestId, String reason) {
    DeadLetter l =
        DeadLetter.newBuilder()
            .setSourceTopic(topic)
            .setPartition(partition)
            .setOffset(offset)
            .setErrorClass("PoisonRecord")
            .setReason(reason)
            .setComponent("orchestrator")
            .setRequestId(requestId)
            .setAt(Instant.now().plusSeconds(1))
            .build();
    Map<String, String> headers = new TreeMap<>();
    if (reason != null && !reason.isBlank()) {
      headers.put(DeadLetters.HEADER_REASON, reason);
    }
    dead.add(new EventLog.Dead(l, headers));
  }

  RenderHistoryChecker.Result check() {
    return RenderHistoryChecker.check(
        history, new RenderHistoryChecker.Observed(statuses, events, dead, bucket));
  }

  @Test
  void aCleanHistoryPasses() {
    succeeded("r-1");
    succeeded("r-2");
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).isEmpty();
    assertThat(r.passed()).isTrue();
    assertThat(r.acknowledged()).isEqualTo(2);
    assertThat(r.succeeded()).isEqualTo(2);
    assertThat(r.lost()).isZero();
    assertThat(r.duplicated()).isZero();
  }

  @Test
  void aLostRenderFails() {
    succeeded("r-1");
    history.acknowledged("r-lost");
    status("r-lost", RenderState.ACCEPTED, 0, 1, 1);
    status("r-lost", RenderState.QUEUED, 1, 2, 2);
    RenderHistoryChecker.Result r = check();
    assertThat(r.passed()).isFalse();
    assertThat(r.lost()).isEqualTo(1);
    assertThat(r.violations()).anyMatch(v -> v.startsWith("r-lost lost") && v.contains("QUEUED"));
  }

  @Test
  void anAcknowledgedRenderNeverSeenOnTheTopicIsLost() {
    history.acknowledged("r-ghost");
    RenderHistoryChecker.Result r = check();
    assertThat(r.lost()).isEqualTo(1);
    assertThat(r.passed()).isFalse();
  }

  /** A producer's retry wrote one COMPLETED twice: the same event id, so one completion. */
  @Test
  void oneCompletionWrittenTwiceIsNotADuplicate() {
    succeeded("r-1");
    event("r-1", 1, StageEventType.COMPLETED, 9); // the same event id as succeeded()'s
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).isEmpty();
    assertThat(r.duplicated()).isZero();
  }

  @Test
  void aStageCompletedTwiceInOneEpochIsADuplicate() {
    succeeded("r-1");
    event("r-1", 1, StageEventType.COMPLETED, 12);
    RenderHistoryChecker.Result r = check();
    assertThat(r.duplicated()).isEqualTo(1);
    assertThat(r.violations()).anyMatch(v -> v.contains("r-1:BASE:1 completed 2 times"));
  }

  @Test
  void twoLiveAttemptsCompletingTheSameStageIsADuplicateOutput() {
    history.acknowledged("r-1");
    status("r-1", RenderState.ACCEPTED, 0, 1, 1);
    status("r-1", RenderState.RENDERING, 1, 2, 2);
    event("r-1", 1, StageEventType.COMPLETED, 5);
    // Attempt 2 completed before the orchestrator had published anything past attempt 1.
    event("r-1", 2, StageEventType.COMPLETED, 6);
    status("r-1", RenderState.SUCCEEDED, 2, 3, 7);
    publishFinals("r-1");
    RenderHistoryChecker.Result r = check();
    assertThat(r.duplicated()).isEqualTo(1);
    assertThat(r.violations()).anyMatch(v -> v.contains("completed by 2 live attempts"));
  }

  @Test
  void aCompletionReadAfterItsLeaseRanOutIsSupersededNotDuplicated() {
    history.acknowledged("r-1");
    status("r-1", RenderState.ACCEPTED, 0, 1, 1);
    status("r-1", RenderState.RENDERING, 1, 2, 2);
    // Sent before the lease ran out, but its partition stalled (a broker outage): the orchestrator
    // queued attempt 2 before it read this completion, and refused it then.
    event("r-1", 1, StageEventType.COMPLETED, 5);
    status("r-1", RenderState.QUEUED, 2, 3, 7);
    event("r-1", 2, StageEventType.COMPLETED, 15);
    status("r-1", RenderState.SUCCEEDED, 2, 4, 16);
    publishFinals("r-1");
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).isEmpty();
    assertThat(r.duplicated()).isZero();
  }

  /**
   * BurstIT's case: a release taken back before its STARTED was read went to a second worker too.
   * The orchestrator's running status names the first runner; the second runner's completion was
   * refused (fenced), not a duplicate. The first runner completing twice still is one.
   */
  @Test
  void aSecondRunnersCompletionIsFencedButTheOwnersSecondIsADuplicate() {
    history.acknowledged("r-1");
    status("r-1", RenderState.ACCEPTED, 0, 1, 1);
    statuses.add(
        RenderStatus.newBuilder(statusOf("r-1", RenderState.RENDERING, 1, 2, 3))
            .setWorkerId("w-1")
            .build());
    event("r-1", 1, StageEventType.STARTED, 2);
    StageEvent second =
        StageEvent.newBuilder(events.get(events.size() - 1))
            .setEventId("second-runner")
            .setWorkerId("w-other")
            .setType(StageEventType.COMPLETED)
            .setAt(T0.plusSeconds(8))
            .build();
    events.add(second);
    event("r-1", 1, StageEventType.COMPLETED, 9);
    status("r-1", RenderState.SUCCEEDED, 1, 3, 10);
    publishFinals("r-1");
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).isEmpty();
    assertThat(r.duplicated()).isZero();
    assertThat(r.fencedLateResults()).isEqualTo(1);

    event("r-1", 1, StageEventType.COMPLETED, 11);
    r = check();
    assertThat(r.duplicated()).isEqualTo(1);
    assertThat(r.violations()).anyMatch(v -> v.contains("r-1:BASE:1 completed 2 times"));
  }

  @Test
  void anExtraObjectUnderTheFinalKeysIsADuplicateOutput() {
    succeeded("r-1");
    bucket.put(ArtifactKeys.finalPrefix(TENANT, T0, "r-1") + "video-2.mp4", new byte[] {1});
    RenderHistoryChecker.Result r = check();
    assertThat(r.duplicated()).isEqualTo(1);
    assertThat(r.passed()).isFalse();
  }

  @Test
  void aLateCompletionOfAFencedAttemptIsCountedNotDuplicated() {
    history.acknowledged("r-1");
    status("r-1", RenderState.ACCEPTED, 0, 1, 1);
    status("r-1", RenderState.RENDERING, 1, 2, 2);
    event("r-1", 1, StageEventType.STARTED, 2);
    status("r-1", RenderState.QUEUED, 2, 3, 12); // lease expired: attempt 2
    event("r-1", 2, StageEventType.STARTED, 13);
    event("r-1", 1, StageEventType.HEARTBEAT, 20); // the zombie wakes up
    event("r-1", 1, StageEventType.COMPLETED, 21);
    event("r-1", 2, StageEventType.COMPLETED, 25);
    status("r-1", RenderState.SUCCEEDED, 2, 4, 26);
    publishFinals("r-1");
    history.healed(T0.plusSeconds(11));
    history.orchestratorFenced(2);
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).isEmpty();
    assertThat(r.fencedLateResults()).isEqualTo(2);
    assertThat(r.orchestratorFencedEvents()).isEqualTo(2L);
    assertThat(RenderHistoryChecker.row(r)).contains("| 2/2 |");
    assertThat(r.firstProgressSeconds()).isEqualTo(2.0);
    assertThat(r.lastFinishSeconds()).isEqualTo(15.0);
  }

  /**
   * The full zombie run's 2-vs-1: the zombie's late FAILED is fenced (a later attempt was queued),
   * and a heartbeat of the winning attempt that crossed its own COMPLETED reaches a render already
   * final, which the orchestrator drops as an event after final, not as a fenced one.
   */
  @Test
  void anEventAfterTheEndingCompletionIsCountedAfterFinalAndTheSumsMatchExactly() {
    history.acknowledged("r-1");
    status("r-1", RenderState.ACCEPTED, 0, 1, 1);
    status("r-1", RenderState.RENDERING, 1, 2, 2);
    event("r-1", 1, StageEventType.STARTED, 2);
    status("r-1", RenderState.QUEUED, 2, 3, 12); // lease expired: attempt 2
    event("r-1", 2, StageEventType.STARTED, 13);
    event("r-1", 1, StageEventType.FAILED, 20); // the zombie wakes and fences itself
    event("r-1", 2, StageEventType.COMPLETED, 25);
    // Sent before the SUCCEEDED was published, but read after the COMPLETED that ended it.
    event("r-1", 2, StageEventType.HEARTBEAT, 25);
    status("r-1", RenderState.SUCCEEDED, 2, 4, 26);
    event("r-1", 2, StageEventType.HEARTBEAT, 27);
    publishFinals("r-1");
    history.requireExactLateEvents();
    history.orchestratorFenced(1);
    history.orchestratorAfterFinal(2);
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).isEmpty();
    assertThat(r.fencedLateResults()).isEqualTo(1);
    assertThat(r.eventsAfterFinal()).isEqualTo(2);
    assertThat(RenderHistoryChecker.row(r)).contains("| 1/1 | 2/2 |");
  }

  @Test
  void lateEventsTheOrchestratorDidNotCountFailTheExactComparison() {
    history.acknowledged("r-1");
    status("r-1", RenderState.ACCEPTED, 0, 1, 1);
    status("r-1", RenderState.RENDERING, 1, 2, 2);
    event("r-1", 1, StageEventType.COMPLETED, 5);
    status("r-1", RenderState.SUCCEEDED, 1, 3, 6);
    event("r-1", 1, StageEventType.HEARTBEAT, 7);
    publishFinals("r-1");
    history.orchestratorFenced(0);
    history.orchestratorAfterFinal(0);
    // Without the request for the exact comparison the counts are only reported.
    assertThat(check().violations()).isEmpty();
    history.requireExactLateEvents();
    RenderHistoryChecker.Result r = check();
    assertThat(r.passed()).isFalse();
    assertThat(r.violations())
        .anyMatch(v -> v.contains("0 fenced + 1 after final = 1") && v.contains("= 0"));
  }

  @Test
  void aStatusGoingBackFails() {
    succeeded("r-1");
    // A RENDERING committed after SUCCEEDED, with an older version.
    status("r-1", RenderState.RENDERING, 1, 3, 11);
    RenderHistoryChecker.Result r = check();
    assertThat(r.passed()).isFalse();
    assertThat(r.violations())
        .anyMatch(v -> v.contains("went back: RENDERING after its final state"))
        .anyMatch(v -> v.contains("went back: version"));
  }

  @Test
  void aContradictedFinalStateIsADuplicate() {
    succeeded("r-1");
    status("r-1", RenderState.FAILED, 1, 5, 12);
    RenderHistoryChecker.Result r = check();
    assertThat(r.duplicated()).isEqualTo(1);
    assertThat(r.violations()).anyMatch(v -> v.contains("2 final states: [SUCCEEDED, FAILED]"));
  }

  @Test
  void theWrongFinalStateFails() {
    succeeded("r-1");
    history.expect("r-1", RenderState.CANCELLED);
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).anyMatch(v -> v.equals("r-1 ended SUCCEEDED, expected CANCELLED"));
    assertThat(r.violations())
        .as("the lost and duplicated counts are not what failed it")
        .noneMatch(v -> v.contains("lost"));
  }

  @Test
  void outputsOfACancelledRenderFail() {
    history.acknowledged("r-1");
    history.expect("r-1", RenderState.CANCELLED);
    status("r-1", RenderState.ACCEPTED, 0, 1, 1);
    status("r-1", RenderState.CANCELLED, 1, 2, 2);
    publishFinals("r-1");
    RenderHistoryChecker.Result r = check();
    assertThat(r.cancelled()).isEqualTo(1);
    assertThat(r.violations()).anyMatch(v -> v.contains("ended CANCELLED but has objects"));
  }

  @Test
  void aMissingFinalPosterAndAChecksumMismatchFail() {
    succeeded("r-1");
    String prefix = ArtifactKeys.finalPrefix(TENANT, T0, "r-1");
    bucket.objects.remove(prefix + ArtifactKeys.POSTER_FILE);
    bucket.put(prefix + ArtifactKeys.VIDEO_FILE, "other bytes".getBytes(StandardCharsets.UTF_8));
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations())
        .anyMatch(v -> v.contains("without its final poster.jpg"))
        .anyMatch(v -> v.contains("video.mp4 sha256") && v.contains("does not match"));
  }

  @Test
  void anIncompleteMultipartUploadFails() {
    succeeded("r-1");
    bucket.incomplete.add(ArtifactKeys.finalPrefix(TENANT, T0, "r-1") + ArtifactKeys.VIDEO_FILE);
    assertThat(check().violations()).anyMatch(v -> v.contains("incomplete multipart uploads"));
  }

  @Test
  void exactlyTheInjectedPoisonWithItsReasonPasses() {
    succeeded("r-1");
    history.poisoned(Topics.REQUESTS, 0, 41, "random bytes");
    history.poisoned(Topics.STAGE_EVENTS, 2, 7, "unknown schema id");
    deadLetter(Topics.REQUESTS, 0, 41, null, "not Confluent wire format");
    deadLetter(Topics.STAGE_EVENTS, 2, 7, null, "unknown schema id 987654");
    // A dead letter about another scenario's render is not this scenario's business.
    deadLetter(Topics.REQUESTS, -1, -1, "someone-else", "BAD_PARAMETERS");
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations()).isEmpty();
    assertThat(r.deadLetteredExpected()).isEqualTo(2);
    assertThat(r.deadLetteredActual()).isEqualTo(2);
  }

  @Test
  void anUnexpectedDeadLetterFails() {
    succeeded("r-1");
    history.poisoned(Topics.REQUESTS, 0, 41, "random bytes");
    deadLetter(Topics.REQUESTS, 0, 41, null, "not Confluent wire format");
    deadLetter(Topics.REQUESTS, -1, -1, "r-1", "render failed in stage BASE");
    RenderHistoryChecker.Result r = check();
    assertThat(r.passed()).isFalse();
    assertThat(r.deadLetteredActual()).isEqualTo(2);
    assertThat(r.violations()).anyMatch(v -> v.startsWith("unexpected dead letter"));
  }

  @Test
  void aMissingDuplicatedOrReasonlessDeadLetterFails() {
    succeeded("r-1");
    history.poisoned(Topics.REQUESTS, 0, 41, "random bytes");
    history.poisoned(Topics.COMMANDS, 1, 3, "wrong type");
    history.poisoned(Topics.WORKER_EVENTS, 0, 9, "incompatible schema");
    deadLetter(Topics.REQUESTS, 0, 41, null, "not Confluent wire format");
    deadLetter(Topics.REQUESTS, 0, 41, null, "not Confluent wire format");
    deadLetter(Topics.WORKER_EVENTS, 0, 9, null, "");
    RenderHistoryChecker.Result r = check();
    assertThat(r.violations())
        .anyMatch(v -> v.contains("dead-lettered 2 times"))
        .anyMatch(v -> v.contains("was not dead-lettered") && v.contains(Topics.COMMANDS))
        .anyMatch(v -> v.contains("has no " + DeadLetters.HEADER_REASON));
  }

  @Test
  void theReportIsWrittenAsJsonAndMarkdown(@TempDir Path dir) throws Exception {
    succeeded("r-1");
    history.acknowledged("r-lost");
    RenderHistoryChecker.Result r = check();
    RenderHistoryChecker.report(r, dir);
    JsonNode json = new ObjectMapper().readTree(dir.resolve("unit.json").toFile());
    assertThat(json.get("scenario").asText()).isEqualTo("unit");
    assertThat(json.get("acknowledged").asInt()).isEqualTo(2);
    assertThat(json.get("lost").asInt()).isEqualTo(1);
    assertThat(json.get("passed").asBoolean()).isFalse();
    String md = Files.readString(dir.resolve("unit.md"));
    assertThat(md).contains("| unit | 2 | 2 | 1 | 0 | 1 | 0 | 0/0 | 0/– |").contains("FAIL");
    assertThat(md).contains("r-lost lost");
    RenderHistoryChecker.report(r, dir);
    assertThat(Files.readAllLines(dir.resolve("summary.md")))
        .filteredOn(l -> l.startsWith("| unit "))
        .hasSize(2);
  }

  /** An in-memory bucket: SHA-256 recorded as ArtifactStore records it. */
  static final class FakeBucket implements RenderHistoryChecker.Bucket {
    final Map<String, byte[]> objects = new TreeMap<>();
    final List<String> incomplete = new ArrayList<>();

    void put(String key, byte[] bytes) {
      objects.put(key, bytes);
    }

    @Override
    public List<StoredObject> list(String prefix) {
      return objects.entrySet().stream()
          .filter(e -> e.getKey().startsWith(prefix))
          .map(
              e ->
                  new StoredObject(
                      e.getKey(),
                      e.getValue().length,
                      RenderHistoryChecker.sha256(e.getValue()),
                      null,
                      "etag",
                      null,
                      Map.of()))
          .toList();
    }

    @Override
    public byte[] read(String key) {
      return objects.get(key);
    }

    @Override
    public List<String> incompleteUploads(String prefix) {
      return incomplete.stream().filter(k -> k.startsWith(prefix)).toList();
    }
  }
}
