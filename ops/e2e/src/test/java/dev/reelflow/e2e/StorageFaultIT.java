package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.stack.S3Endpoint;
import dev.reelflow.worker.WorkerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 17 scenario 6: the S3 endpoint fails while renders upload their results, at default storage
 * settings (each request retried with backoff for up to 120 s, 60 s read timeout).
 *
 * <ul>
 *   <li>06a, stopped: the shared pipeline's S3 endpoint ({@link S3Endpoint#stop()}: its port
 *       refuses connections, open requests are cut) for {@link #OUTAGE}, then started again on the
 *       same port.
 *   <li>06b, frozen: the base workers reach S3 through a {@link FreezableTcpProxy}; freezing it
 *       keeps their connections open and forwards nothing for {@link #OUTAGE}, as a SIGSTOPped
 *       endpoint would (the endpoint runs inside the test JVM, so the freeze is the proxy's, not a
 *       signal); then it forwards what it held back.
 * </ul>
 *
 * Base workers are separate JVMs with the EMULATED engine. Each scenario's renders are running when
 * the fault starts and must finish after it: all SUCCEEDED exactly once, nothing under the final
 * keys of an unfinished render, no incomplete multipart upload, checksums matching the manifest
 * ({@link RenderHistoryChecker}). CI: 8 s outages, 3 renders each; {@code -Pslow}: 30 s, 8 each.
 */
@ExtendWith(SharedPipeline.class)
// Orders the report only (06a, 06b): each scenario submits its own renders and heals its own fault.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StorageFaultIT {
  private static final Logger LOG = LoggerFactory.getLogger(StorageFaultIT.class);
  static final boolean SLOW = Boolean.getBoolean("reelflow.slow");
  static final Duration OUTAGE = Duration.ofSeconds(SLOW ? 30 : 8);
  static final Duration WAIT = Duration.ofSeconds(SLOW ? 300 : 120);
  static final int RENDERS = SLOW ? 8 : 3;
  static final long STEP_MS = 250;
  static final int STEPS = 4;

  static SharedPipeline p;
  static FreezableTcpProxy proxy;
  static Path workerDir;
  static final List<WorkerJvm> workers = new ArrayList<>();

  @BeforeAll
  static void start(SharedPipeline pipeline) throws Exception {
    p = pipeline;
    S3Endpoint s3 = p.pipeline().stack().s3();
    proxy = FreezableTcpProxy.start("127.0.0.1", s3.port());
    // Worker logs stay in target/ for a failure's post-mortem.
    workerDir = RenderHistoryChecker.reportDir().resolve("workers-06-s3");
    Map<String, String> connection = new HashMap<>(p.pipeline().workerConnection());
    connection.put(WorkerConfig.S3_ENDPOINT.name(), "http://127.0.0.1:" + proxy.port());
    for (int i = 1; i <= 2; i++) {
      workers.add(
          WorkerJvm.start(
              "sf-" + i, workerDir, connection, SharedPipeline.workerSettings(STEP_MS, 30_000)));
    }
    p.awaitReady(WAIT, workers.toArray(new WorkerJvm[0]));
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.thaw();
    }
    S3Endpoint s3 = p == null ? null : p.pipeline().stack().s3();
    if (s3 != null && !s3.isRunning()) {
      s3.start();
    }
    workers.forEach(WorkerJvm::close);
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  @Order(1)
  void s06aS3StoppedDuringUploads() throws Exception {
    S3Endpoint s3 = p.pipeline().stack().s3();
    RenderHistory h = new RenderHistory("06a-s3-stopped");
    List<String> ids = submitAll(h, "a paper boat on a canal, fault 6a");
    awaitLastStepOfOne(ids);
    Instant faultAt = Instant.now();
    s3.stop();
    try {
      Thread.sleep(OUTAGE.toMillis());
    } finally {
      s3.start();
    }
    h.healed();
    finishAndCheck(h, ids, faultAt);
  }

  @Test
  @Order(2)
  void s06bS3FrozenDuringUploads() throws Exception {
    RenderHistory h = new RenderHistory("06b-s3-frozen");
    List<String> ids = submitAll(h, "a glass lighthouse, fault 6b");
    awaitLastStepOfOne(ids);
    Instant faultAt = Instant.now();
    proxy.freeze();
    try {
      Thread.sleep(OUTAGE.toMillis());
    } finally {
      proxy.thaw();
    }
    h.healed();
    finishAndCheck(h, ids, faultAt);
  }

  static List<String> submitAll(RenderHistory h, String prompt) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < RENDERS; i++) {
      h.submitted();
      String id = p.api().submitPreview(prompt + ", " + i, STEPS);
      h.acknowledged(id);
      ids.add(id);
    }
    return ids;
  }

  /** Waits until one render is at its last step: its upload begins within a step's time. */
  static void awaitLastStepOfOne(List<String> ids) {
    p.events()
        .awaitStage(
            WAIT,
            "PROGRESS step " + (STEPS - 1) + " of one of " + ids,
            e ->
                ids.contains(e.getRequestId())
                    && e.getStage() == Stage.BASE
                    && e.getType() == StageEventType.PROGRESS
                    && e.getStep() != null
                    && e.getStep() >= STEPS - 1);
  }

  static void finishAndCheck(RenderHistory h, List<String> ids, Instant faultAt)
      throws InterruptedException {
    for (String id : ids) {
      try {
        p.events()
            .awaitStatus(
                WAIT,
                "a final status of " + id,
                s -> s.getRequestId().equals(id) && RenderHistoryChecker.terminal(s.getState()));
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "\n" + p.describe(id) + "\n" + tails(), e);
      }
    }
    p.awaitCommitted(); // a duplicate final status would be committed and read by now
    RenderHistoryChecker.Result r = p.check(h);
    StringBuilder why = new StringBuilder();
    r.violations().forEach(v -> why.append("\n- ").append(v));
    ids.forEach(id -> why.append("\n").append(p.describe(id)));
    assertThat(r.violations()).as("checker violations%s", why).isEmpty();
    assertThat(r.lost()).isZero();
    assertThat(r.duplicated()).isZero();
    assertThat(r.succeeded()).as("every render finished after the outage").isEqualTo(ids.size());
    // The fault really hit work in flight: a render that had started before the fault finished
    // only after the heal (its upload waited the outage out instead of failing the render).
    Instant healed = h.healedAt().orElseThrow();
    long spanned =
        ids.stream()
            .filter(id -> startedBefore(id, faultAt))
            .filter(id -> finishedAfter(id, healed))
            .count();
    assertThat(spanned).as("renders running at the fault and finished after it").isPositive();
    LOG.info(
        "fault {}: outage {} s; {} of {} renders were running at the fault and finished after it;"
            + " heal → first progress {} s, → last finish {} s",
        h.scenario(),
        OUTAGE.toSeconds(),
        spanned,
        ids.size(),
        r.firstProgressSeconds(),
        r.lastFinishSeconds());
  }

  static boolean startedBefore(String id, Instant at) {
    return p.events().events(id).stream()
        .anyMatch(e -> e.getType() == StageEventType.STARTED && e.getAt().isBefore(at));
  }

  static boolean finishedAfter(String id, Instant at) {
    return p.events().statuses(id).stream()
        .filter(s -> s.getState() == RenderState.SUCCEEDED)
        .map(RenderStatus::getUpdatedAt)
        .anyMatch(t -> t.isAfter(at));
  }

  static String tails() {
    StringBuilder sb = new StringBuilder();
    workers.forEach(w -> sb.append("--- ").append(w.id).append(" ---\n").append(w.tail()));
    return sb.toString();
  }
}
