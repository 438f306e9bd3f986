package dev.reelflow.e2e;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.reelflow.schemas.DeadLetters;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.stack.LocalStack;
import dev.reelflow.storage.ArtifactKeys;
import dev.reelflow.storage.ArtifactStore;
import dev.reelflow.storage.Manifest;
import dev.reelflow.storage.StoredObject;
import io.minio.MinioAsyncClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compares a scenario's {@link RenderHistory} (what the client was promised) with what the pipeline
 * published, in the manner of Kafka's transaction system tests and Jepsen's checkers:
 *
 * <ul>
 *   <li>render.status, read with read_committed: every acknowledged render reached exactly one
 *       final state (none: lost; more: duplicated), the expected one, and never went back (versions
 *       only grow; nothing after the final state, so nothing visible was later contradicted);
 *   <li>the bucket: a SUCCEEDED render has exactly one final video, poster and manifest under its
 *       final keys whose SHA-256 match the manifest; a render that did not succeed has nothing
 *       there; no incomplete multipart upload is left under any render;
 *   <li>render.stage-events: each stage attempt (a fencing epoch) completed at most once and at
 *       most one attempt of a stage was accepted; events an attempt sent after the orchestrator had
 *       moved past it (a later attempt or stage queued) are counted as fenced late results, and
 *       events about a render already final (after the event that ended it in the topic, or sent
 *       after its final status) as events after final: the orchestrator counts the two apart
 *       ({@code lifecycle.fencedEvents}, {@code lifecycle.eventsAfterFinal}); where the scenario
 *       read both counters and asked for the exact comparison, the sums must be equal;
 *   <li>render.dlq: exactly the injected poison records, each once and with its reason header, and
 *       no dead letter about this scenario's renders;
 *   <li>recovery: from the heal to the first STARTED/PROGRESS and to the last final status.
 * </ul>
 *
 * The observations come through {@link Observed}, so the checker's own tests feed it fabricated
 * histories that must fail.
 */
final class RenderHistoryChecker {
  private static final Logger LOG = LoggerFactory.getLogger(RenderHistoryChecker.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Read access to the bucket: listings, object bytes and incomplete multipart uploads. */
  interface Bucket {
    List<StoredObject> list(String prefix);

    byte[] read(String key);

    /** Keys under {@code prefix} with a multipart upload started and never completed. */
    List<String> incompleteUploads(String prefix);

    /** The bucket of an S3 endpoint, read through our store and a MinIO client for uploads. */
    static Bucket s3(
        String endpoint, String accessKey, String secretKey, String region, String bucket) {
      ArtifactStore store =
          ArtifactStore.builder()
              .endpoint(endpoint)
              .credentials(accessKey, secretKey)
              .region(region)
              .bucket(bucket)
              .build();
      MinioAsyncClient s3 =
          MinioAsyncClient.builder()
              .endpoint(endpoint)
              .credentials(accessKey, secretKey)
              .region(region)
              .build();
      return new Bucket() {
        @Override
        public List<StoredObject> list(String prefix) {
          return store.list(prefix);
        }

        @Override
        public byte[] read(String key) {
          return store.getBytes(key, false);
        }

        @Override
        public List<String> incompleteUploads(String prefix) {
          try {
            List<String> keys = new ArrayList<>();
            s3.listMultipartUploadsAsync(
                    bucket, region, null, null, prefix, 1000, null, null, null, null)
                .get()
                .result()
                .uploads()
                .forEach(u -> keys.add(u.objectName()));
            return keys;
          } catch (Exception e) {
            throw new AssertionError("cannot list multipart uploads under " + prefix + ": " + e, e);
          }
        }
      };
    }

    /** The bucket of a stack's S3 endpoint. */
    static Bucket of(LocalStack stack) {
      return s3(
          stack.s3Endpoint(),
          stack.s3AccessKey(),
          stack.s3SecretKey(),
          stack.s3Region(),
          stack.bucket());
    }
  }

  /**
   * What the pipeline published: every record read so far from render.status (read_committed, in
   * topic order), render.stage-events and render.dlq, and the bucket.
   */
  record Observed(
      List<RenderStatus> statuses,
      List<StageEvent> events,
      List<EventLog.Dead> deadLetters,
      Bucket bucket) {

    /** Everything {@code events} has read so far, and {@code bucket}. */
    static Observed of(EventLog events, Bucket bucket) {
      return new Observed(
          List.copyOf(events.statuses),
          List.copyOf(events.stageEvents),
          List.copyOf(events.deadLetters),
          bucket);
    }
  }

  /** One row of the table: a scenario's counts and its violations (empty when it passed). */
  record Result(
      String scenario,
      int renders,
      int acknowledged,
      int succeeded,
      int cancelled,
      int lost,
      int duplicated,
      int deadLetteredExpected,
      int deadLetteredActual,
      int fencedLateResults,
      Long orchestratorFencedEvents,
      int eventsAfterFinal,
      Long orchestratorEventsAfterFinal,
      Double firstProgressSeconds,
      Double lastFinishSeconds,
      List<String> violations) {
    @JsonProperty("passed")
    boolean passed() {
      return violations.isEmpty();
    }

    /** This result with {@code more} violations found outside the histories (e.g. the cluster). */
    Result withViolations(List<String> more) {
      List<String> all = new ArrayList<>(violations);
      all.addAll(more);
      return new Result(
          scenario,
          renders,
          acknowledged,
          succeeded,
          cancelled,
          lost,
          duplicated,
          deadLetteredExpected,
          deadLetteredActual,
          fencedLateResults,
          orchestratorFencedEvents,
          eventsAfterFinal,
          orchestratorEventsAfterFinal,
          firstProgressSeconds,
          lastFinishSeconds,
          List.copyOf(all));
    }
  }

  private RenderHistoryChecker() {}

  static Result check(RenderHistory history, Observed seen) {
    List<String> violations = new ArrayList<>();
    Map<String, List<RenderStatus>> byRender = new LinkedHashMap<>();
    for (RenderStatus s : seen.statuses()) {
      byRender.computeIfAbsent(s.getRequestId(), k -> new ArrayList<>()).add(s);
    }
    Map<String, List<StageEvent>> eventsByRender = new HashMap<>();
    for (StageEvent e : seen.events()) {
      eventsByRender.computeIfAbsent(e.getRequestId(), k -> new ArrayList<>()).add(e);
    }
    Set<String> ours = new HashSet<>();
    int succeeded = 0;
    int cancelled = 0;
    int lost = 0;
    int duplicated = 0;
    int fencedLate = 0;
    int afterFinal = 0;
    Instant lastFinish = null;
    for (RenderHistory.Ack ack : history.acks()) {
      String id = ack.requestId();
      ours.add(id);
      List<RenderStatus> statuses = byRender.getOrDefault(id, List.of());
      List<RenderStatus> finals = statuses.stream().filter(s -> terminal(s.getState())).toList();
      boolean duplicate = false;
      if (finals.isEmpty()) {
        lost++;
        violations.add(
            id
                + " lost: no final state on render.status (last seen: "
                + (statuses.isEmpty() ? "nothing" : statuses.get(statuses.size() - 1).getState())
                + ")");
      } else if (finals.size() > 1) {
        duplicate = true;
        violations.add(
            id
                + " has "
                + finals.size()
                + " final states: "
                + finals.stream().map(s -> s.getState().name()).toList());
      }
      checkNeverWentBack(id, statuses, violations);
      RenderState end = finals.isEmpty() ? null : finals.get(0).getState();
      if (end != null) {
        RenderState want = history.expectedState(id);
        if (end != want) {
          violations.add(id + " ended " + end + ", expected " + want);
        }
        if (end == RenderState.SUCCEEDED) {
          succeeded++;
        } else if (end == RenderState.CANCELLED) {
          cancelled++;
        }
        Instant at = finals.get(0).getUpdatedAt();
        if (lastFinish == null || at.isAfter(lastFinish)) {
          lastFinish = at;
        }
      }
      List<StageEvent> events = eventsByRender.getOrDefault(id, List.of());
      duplicate |= checkCompletions(id, events, statuses, violations);
      int[] late = lateEvents(events, statuses);
      fencedLate += late[0];
      afterFinal += late[1];
      if (!statuses.isEmpty()) {
        duplicate |= checkBucket(id, statuses.get(0), end, seen.bucket(), violations);
      }
      if (duplicate) {
        duplicated++;
      }
    }
    int[] dead = checkDeadLetters(history, seen.deadLetters(), ours, violations);
    Optional<Long> orchFenced = history.orchestratorFenced();
    Optional<Long> orchAfterFinal = history.orchestratorAfterFinal();
    if (history.exactLateEvents() && orchFenced.isPresent() && orchAfterFinal.isPresent()) {
      long checker = (long) fencedLate + afterFinal;
      long orchestrator = orchFenced.get() + orchAfterFinal.get();
      if (checker != orchestrator) {
        violations.add(
            "late events: the topic holds "
                + fencedLate
                + " fenced + "
                + afterFinal
                + " after final = "
                + checker
                + ", the orchestrator counted "
                + orchFenced.get()
                + " fenced + "
                + orchAfterFinal.get()
                + " after final = "
                + orchestrator);
      }
    }
    Double firstProgress = null;
    Double lastFinishSeconds = null;
    if (history.healedAt().isPresent()) {
      Instant healed = history.healedAt().get();
      Instant first =
          seen.events().stream()
              .filter(e -> ours.contains(e.getRequestId()))
              .filter(
                  e ->
                      e.getType() == StageEventType.STARTED
                          || e.getType() == StageEventType.PROGRESS)
              .map(StageEvent::getAt)
              .filter(at -> !at.isBefore(healed))
              .min(Instant::compareTo)
              .orElse(null);
      firstProgress = first == null ? null : seconds(healed, first);
      lastFinishSeconds =
          lastFinish == null || lastFinish.isBefore(healed) ? null : seconds(healed, lastFinish);
    }
    return new Result(
        history.scenario(),
        history.submittedCount(),
        history.acks().size(),
        succeeded,
        cancelled,
        lost,
        duplicated,
        history.poison().size(),
        dead[0],
        fencedLate,
        orchFenced.orElse(null),
        afterFinal,
        orchAfterFinal.orElse(null),
        firstProgress,
        lastFinishSeconds,
        List.copyOf(violations));
  }

  private static void checkNeverWentBack(
      String id, List<RenderStatus> statuses, List<String> violations) {
    boolean ended = false;
    long version = Long.MIN_VALUE;
    for (RenderStatus s : statuses) {
      if (ended && !terminal(s.getState())) {
        violations.add(id + " went back: " + s.getState() + " after its final state");
      }
      if (s.getVersion() < version) {
        violations.add(
            id
                + " went back: version "
                + s.getVersion()
                + " after "
                + version
                + " "
                + s.getState());
      }
      version = Math.max(version, s.getVersion());
      ended |= terminal(s.getState());
    }
  }

  /**
   * Each attempt of a stage (its fencing epoch) completed at most once, and at most one attempt of
   * a stage was accepted (completed before the orchestrator moved past it). Returns whether a
   * duplicate was found.
   */
  private static boolean checkCompletions(
      String id, List<StageEvent> events, List<RenderStatus> statuses, List<String> violations) {
    boolean duplicate = false;
    Map<String, Integer> perAttempt = new LinkedHashMap<>();
    Map<Stage, Integer> accepted = new HashMap<>();
    Set<String> seen = new HashSet<>();
    for (StageEvent e : events) {
      // A record written twice (a producer retry) is one event: its id is the same.
      if (e.getType() != StageEventType.COMPLETED || !seen.add(e.getEventId())) {
        continue;
      }
      if (!secondRunner(e, statuses)) {
        perAttempt.merge(e.getTaskId(), 1, Integer::sum);
      }
      if (!fenced(e, statuses) && !superseded(e, statuses)) {
        accepted.merge(e.getStage(), 1, Integer::sum);
      }
    }
    for (Map.Entry<String, Integer> c : perAttempt.entrySet()) {
      if (c.getValue() > 1) {
        duplicate = true;
        violations.add(id + " task " + c.getKey() + " completed " + c.getValue() + " times");
      }
    }
    for (Map.Entry<Stage, Integer> c : accepted.entrySet()) {
      if (c.getValue() > 1) {
        duplicate = true;
        violations.add(
            id + " stage " + c.getKey() + " completed by " + c.getValue() + " live attempts");
      }
    }
    return duplicate;
  }

  /**
   * The render's events the orchestrator ignored, as {fenced, after final}. After final: the events
   * after the one that ended the render (the COMPLETED or FAILED of the final status's stage and
   * attempt) in the topic's order, which is the order the orchestrator reads them in, or sent after
   * the final status (a cancel, a deadline: no event ended those). Fenced: the others whose attempt
   * the orchestrator had moved past when they were sent.
   */
  static int[] lateEvents(List<StageEvent> events, List<RenderStatus> statuses) {
    RenderStatus end =
        statuses.stream().filter(s -> terminal(s.getState())).findFirst().orElse(null);
    int endingIndex = -1;
    if (end != null) {
      StageEventType endingType =
          end.getState() == RenderState.SUCCEEDED
              ? StageEventType.COMPLETED
              : end.getState() == RenderState.FAILED ? StageEventType.FAILED : null;
      for (int i = 0; i < events.size() && endingType != null; i++) {
        StageEvent e = events.get(i);
        if (e.getType() == endingType
            && e.getStage() == end.getStage()
            && e.getAttempt() == end.getAttempt()) {
          endingIndex = i;
          break;
        }
      }
    }
    int fenced = 0;
    int afterFinal = 0;
    for (int i = 0; i < events.size(); i++) {
      StageEvent e = events.get(i);
      boolean over =
          end != null
              && ((endingIndex >= 0 && i > endingIndex) || !end.getUpdatedAt().isAfter(e.getAt()));
      if (over && i != endingIndex) {
        afterFinal++;
      } else if (fenced(e, statuses)) {
        fenced++;
      }
    }
    return new int[] {fenced, afterFinal};
  }

  /**
   * Whether the orchestrator queued a later attempt of the event's stage at any time (a QUEUED or
   * running status of a greater attempt). It never does after it accepted a completion of that
   * stage, so such a completion was refused: sent before the lease ran out but read after it (its
   * partition stalled by a broker outage), then fenced like a late result. Two completions the
   * orchestrator could both have taken (no later attempt queued in between) stay duplicates.
   */
  static boolean superseded(StageEvent e, List<RenderStatus> statuses) {
    for (RenderStatus s : statuses) {
      if (!terminal(s.getState())
          && s.getStage() == e.getStage()
          && s.getAttempt() > e.getAttempt()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether the event came from a second runner of its attempt: the orchestrator's running status
   * of that stage and attempt names another worker (the one whose STARTED came first owns the
   * attempt; a release taken back and released again can reach a second worker).
   */
  static boolean secondRunner(StageEvent e, List<RenderStatus> statuses) {
    for (RenderStatus s : statuses) {
      if ((s.getState() == RenderState.RENDERING || s.getState() == RenderState.UPSCALING)
          && s.getStage() == e.getStage()
          && s.getAttempt() == e.getAttempt()
          && s.getWorkerId() != null) {
        return !s.getWorkerId().equals(e.getWorkerId());
      }
    }
    return false;
  }

  /**
   * Whether the orchestrator had already moved past the event's attempt when it was sent: a status
   * of a later attempt of the same stage, of a later stage, or a final state, published before it.
   */
  static boolean fenced(StageEvent e, List<RenderStatus> statuses) {
    if (secondRunner(e, statuses)) {
      return true;
    }
    for (RenderStatus s : statuses) {
      if (s.getUpdatedAt().isAfter(e.getAt())) {
        continue;
      }
      boolean later =
          terminal(s.getState())
              || (s.getStage() == e.getStage() && s.getAttempt() > e.getAttempt())
              || s.getStage().ordinal() > e.getStage().ordinal();
      if (later) {
        return true;
      }
    }
    return false;
  }

  /**
   * The final keys: exactly one video, poster and manifest for a SUCCEEDED render, checksums
   * matching the manifest and the status; nothing for any other end. Returns whether a duplicate
   * output was found.
   */
  private static boolean checkBucket(
      String id, RenderStatus first, RenderState end, Bucket bucket, List<String> violations) {
    String finalPrefix = ArtifactKeys.finalPrefix(first.getTenant(), first.getCreatedAt(), id);
    List<StoredObject> finals = bucket.list(finalPrefix);
    List<String> incomplete =
        bucket.incompleteUploads(
            ArtifactKeys.renderPrefix(first.getTenant(), first.getCreatedAt(), id));
    if (!incomplete.isEmpty()) {
      violations.add(id + " has incomplete multipart uploads: " + incomplete);
    }
    if (end != RenderState.SUCCEEDED) {
      if (!finals.isEmpty() && end != null) {
        violations.add(
            id
                + " ended "
                + end
                + " but has objects under its final keys: "
                + finals.stream().map(StoredObject::key).toList());
      }
      return false;
    }
    boolean duplicate = false;
    Map<String, StoredObject> byFile = new HashMap<>();
    for (StoredObject o : finals) {
      String file = o.key().substring(o.key().lastIndexOf('/') + 1);
      boolean known =
          file.equals(ArtifactKeys.VIDEO_FILE)
              || file.equals(ArtifactKeys.POSTER_FILE)
              || file.equals(ArtifactKeys.MANIFEST_FILE);
      if (!known) {
        duplicate = true;
        violations.add(id + " has an extra object under its final keys: " + o.key());
      } else if (byFile.put(file, o) != null) {
        duplicate = true;
        violations.add(id + " has two final " + file + " objects");
      }
    }
    for (String file :
        List.of(ArtifactKeys.VIDEO_FILE, ArtifactKeys.POSTER_FILE, ArtifactKeys.MANIFEST_FILE)) {
      if (!byFile.containsKey(file)) {
        violations.add(id + " SUCCEEDED without its final " + file + " under " + finalPrefix);
      }
    }
    StoredObject manifestObject = byFile.get(ArtifactKeys.MANIFEST_FILE);
    if (manifestObject == null) {
      return duplicate;
    }
    Manifest manifest;
    try {
      manifest = Manifest.fromJson(bucket.read(manifestObject.key()));
    } catch (RuntimeException e) {
      violations.add(id + " final manifest unreadable: " + e.getMessage());
      return duplicate;
    }
    for (Manifest.Output o : manifest.outputs()) {
      String file = o.key().substring(o.key().lastIndexOf('/') + 1);
      if (!o.key().startsWith(finalPrefix) || file.equals(ArtifactKeys.MANIFEST_FILE)) {
        continue;
      }
      StoredObject stored = byFile.get(file);
      if (stored == null) {
        violations.add(id + " manifest names " + o.key() + " which is not in the bucket");
        continue;
      }
      String actual = sha256(bucket.read(stored.key()));
      if (!actual.equals(o.sha256())) {
        violations.add(
            id + " " + file + " sha256 " + actual + " does not match the manifest's " + o.sha256());
      }
    }
    for (String file : List.of(ArtifactKeys.VIDEO_FILE, ArtifactKeys.POSTER_FILE)) {
      if (byFile.containsKey(file)
          && manifest.outputs().stream().noneMatch(o -> o.key().endsWith("/" + file))) {
        violations.add(id + " final manifest does not list its " + file);
      }
    }
    return duplicate;
  }

  /**
   * render.dlq since the scenario began: each injected record dead-lettered exactly once with a
   * reason header; any other dead letter about this scenario's renders, or about no render at all,
   * is unexpected. Returns {actual}.
   */
  private static int[] checkDeadLetters(
      RenderHistory history, List<EventLog.Dead> dead, Set<String> ours, List<String> violations) {
    Map<RenderHistory.Poison, Integer> matched = new LinkedHashMap<>();
    history.poison().forEach(p -> matched.put(p, 0));
    int actual = 0;
    for (EventLog.Dead d : dead) {
      if (d.letter().getAt().isBefore(history.started())) {
        continue;
      }
      RenderHistory.Poison hit = null;
      for (RenderHistory.Poison p : history.poison()) {
        if (p.topic().equals(d.letter().getSourceTopic())
            && p.partition() == d.letter().getPartition()
            && p.offset() == d.letter().getOffset()) {
          hit = p;
        }
      }
      String requestId = d.letter().getRequestId();
      if (hit != null) {
        actual++;
        matched.merge(hit, 1, Integer::sum);
        String reason = d.headers().get(DeadLetters.HEADER_REASON);
        if (reason == null || reason.isBlank()) {
          violations.add("dead letter of " + hit + " has no " + DeadLetters.HEADER_REASON);
        }
      } else if (requestId == null || requestId.isBlank() || ours.contains(requestId)) {
        // Not injected: about one of this scenario's renders, or about nothing identifiable.
        actual++;
        violations.add(
            "unexpected dead letter from "
                + d.letter().getSourceTopic()
                + "@"
                + d.letter().getPartition()
                + ":"
                + d.letter().getOffset()
                + " ("
                + d.letter().getComponent()
                + ", "
                + d.letter().getErrorClass()
                + "): "
                + d.letter().getReason());
      }
    }
    matched.forEach(
        (p, n) -> {
          if (n == 0) {
            violations.add("poison " + p + " was not dead-lettered");
          } else if (n > 1) {
            violations.add("poison " + p + " was dead-lettered " + n + " times");
          }
        });
    return new int[] {actual};
  }

  /**
   * Transactions left open on the cluster: every ongoing or preparing transaction (Admin list and
   * describe transactions) that started more than {@code olderThan} ago. A transactional producer
   * always has one open for its current batch (the orchestrator's sinks, one per checkpoint); one
   * that outlives a few checkpoints was left hanging (its producer gone, or a torn commit).
   */
  static List<String> hangingTransactions(
      org.apache.kafka.clients.admin.Admin admin, Duration olderThan) {
    List<String> violations = new ArrayList<>();
    try {
      var open =
          admin
              .listTransactions(
                  new org.apache.kafka.clients.admin.ListTransactionsOptions()
                      .filterStates(
                          List.of(
                              org.apache.kafka.clients.admin.TransactionState.ONGOING,
                              org.apache.kafka.clients.admin.TransactionState.PREPARE_COMMIT,
                              org.apache.kafka.clients.admin.TransactionState.PREPARE_ABORT)))
              .all()
              .get(60, java.util.concurrent.TimeUnit.SECONDS);
      if (open.isEmpty()) {
        return violations;
      }
      List<String> ids = open.stream().map(t -> t.transactionalId()).toList();
      long now = System.currentTimeMillis();
      admin
          .describeTransactions(ids)
          .all()
          .get(60, java.util.concurrent.TimeUnit.SECONDS)
          .forEach(
              (id, d) -> {
                long startedAt = d.transactionStartTimeMs().orElse(now);
                if (now - startedAt > olderThan.toMillis()) {
                  violations.add(
                      "transaction "
                          + id
                          + " "
                          + d.state()
                          + " open for "
                          + (now - startedAt)
                          + " ms on "
                          + d.topicPartitions());
                }
              });
      LOG.info("open transactions on the cluster: {} (none older than {})", ids, olderThan);
    } catch (Exception e) {
      violations.add("cannot list the cluster's transactions: " + e);
    }
    return violations;
  }

  static boolean terminal(RenderState s) {
    return s == RenderState.SUCCEEDED
        || s == RenderState.FAILED
        || s == RenderState.CANCELLED
        || s == RenderState.EXPIRED;
  }

  private static double seconds(Instant from, Instant to) {
    return Duration.between(from, to).toMillis() / 1000.0;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- the table ----------------------------------------------------------------------------

  static final String HEADER =
      "| scenario | renders | acknowledged | succeeded | cancelled | lost | duplicated |"
          + " dead-lettered (expected/actual) | fenced late results (events/orchestrator) |"
          + " events after final (events/orchestrator) | heal → first progress (s) |"
          + " heal → last finish (s) | result |\n"
          + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";

  static String row(Result r) {
    return String.format(
        Locale.ROOT,
        "| %s | %d | %d | %d | %d | %d | %d | %d/%d | %d/%s | %d/%s | %s | %s | %s |%n",
        r.scenario(),
        r.renders(),
        r.acknowledged(),
        r.succeeded(),
        r.cancelled(),
        r.lost(),
        r.duplicated(),
        r.deadLetteredExpected(),
        r.deadLetteredActual(),
        r.fencedLateResults(),
        r.orchestratorFencedEvents() == null ? "–" : r.orchestratorFencedEvents().toString(),
        r.eventsAfterFinal(),
        r.orchestratorEventsAfterFinal() == null
            ? "–"
            : r.orchestratorEventsAfterFinal().toString(),
        r.firstProgressSeconds() == null
            ? "–"
            : String.format(Locale.ROOT, "%.1f", r.firstProgressSeconds()),
        r.lastFinishSeconds() == null
            ? "–"
            : String.format(Locale.ROOT, "%.1f", r.lastFinishSeconds()),
        r.passed() ? "pass" : "FAIL");
  }

  /**
   * Logs the scenario's table and writes it to {@code dir}: {@code <scenario>.json}, {@code
   * <scenario>.md}, and a row appended to {@code summary.md} (one table for the whole run).
   */
  static void report(Result r, Path dir) {
    String md = HEADER + row(r);
    StringBuilder text = new StringBuilder(md);
    r.violations().forEach(v -> text.append("\n- ").append(v));
    LOG.info("fault suite, {}:\n{}", r.scenario(), text);
    try {
      Files.createDirectories(dir);
      String name = r.scenario().replaceAll("[^A-Za-z0-9._-]", "_");
      JSON.writeValue(dir.resolve(name + ".json").toFile(), r);
      Files.writeString(dir.resolve(name + ".md"), text + "\n", StandardCharsets.UTF_8);
      Path summary = dir.resolve("summary.md");
      if (!Files.exists(summary)) {
        Files.writeString(summary, HEADER, StandardCharsets.UTF_8);
      }
      Files.writeString(summary, row(r), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the fault-suite report under " + dir, e);
    }
  }

  /** Where the reports go: {@code target/fault-suite} of the module. */
  static Path reportDir() {
    return Path.of("target", "fault-suite");
  }
}
