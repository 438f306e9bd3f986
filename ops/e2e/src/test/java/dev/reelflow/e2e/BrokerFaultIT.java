package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.schemas.Topics;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.StageEventType;
import dev.reelflow.schemas.registry.SchemaRegistryClient;
import dev.reelflow.stack.CompletedCheckpoints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fault suite scenarios 5 and 7 (issue 17) on a three-broker KRaft cluster of separate broker JVMs
 * ({@link ClusterPipeline}: replication 3, min.insync.replicas 2): during a batch, SIGKILL brokers
 * in turn (each restarted before the next) and SIGSTOP one for longer than the workers' request
 * timeout; then the schema registry restarted mid-run. Base workers are separate JVMs with the
 * <b>emulated</b> engine (a fixed time per step; labelled emulated in every manifest). {@link
 * RenderHistoryChecker} checks every scenario (0 lost, 0 duplicated, read_committed statuses never
 * contradicted, outputs and checksums) plus no hanging transaction on the cluster (Admin
 * list/describe transactions). Each writes its table under {@code target/fault-suite/}, and {@code
 * 05-broker-faults.json} the per-fault recovery times and how many extra attempts the faults cost.
 *
 * <p>Reduced in the default suite (8 renders, the broker leading most of render.stage-events killed
 * once, another SIGSTOPped 12 s with the workers' {@code request.timeout.ms} at 10 s; about 140 s,
 * a third of it starting the three broker JVMs); {@code -Pslow}: 24 renders, every broker killed in
 * turn, one SIGSTOPped 35 s (past every client's default 30 s request timeout). {@code
 * -Dreelflow.brokers.stall-hold=0s} runs the orchestrator without its lease stall guard, for the
 * comparison of attempts.
 */
// Orders the report only (5, 7): each scenario submits its own renders and heals its own fault.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrokerFaultIT {
  private static final Logger LOG = LoggerFactory.getLogger(BrokerFaultIT.class);
  static final boolean SLOW = Boolean.getBoolean("reelflow.slow");

  /** Longest wait for a render's final status; {@code -Dreelflow.brokers.wait-s} overrides it. */
  static final Duration WAIT =
      Duration.ofSeconds(Long.getLong("reelflow.brokers.wait-s", SLOW ? 300 : 150));

  static final long STEP_MS = 500;

  /** The orchestrator's task.lease.stall-hold for this run; empty: its default. */
  static final String STALL_HOLD = System.getProperty("reelflow.brokers.stall-hold", "").trim();

  /**
   * How long a broker stays SIGSTOPped: past the workers' (reduced) or every default timeout;
   * {@code -Dreelflow.brokers.stop-ms} overrides it.
   */
  static final long STOP_MS = Long.getLong("reelflow.brokers.stop-ms", SLOW ? 35_000 : 12_000);

  /** The workers' Kafka request timeout in the reduced run (default 30 s under -Pslow). */
  static final String WORKER_REQUEST_TIMEOUT_MS = "10000";

  static Path dir;
  static ClusterPipeline p;
  static EventLog events;
  static RenderApi api;
  static final List<WorkerJvm> workers = new ArrayList<>();
  static int started;

  @BeforeAll
  static void start() throws Exception {
    // The orchestrator's lease decisions (held, re-armed, fenced) and the job's restarts, in the
    // log.
    for (String name :
        List.of(
            "dev.reelflow.orchestrator.RenderLifecycle",
            // the orchestrator's exactly-once sinks: transactions aborted, committed late, fenced
            "org.apache.flink.connector.kafka.sink.internal.KafkaCommitter",
            "org.apache.flink.connector.kafka.sink.internal.ProducerPoolImpl",
            "org.apache.flink.connector.kafka.sink.ExactlyOnceKafkaWriter",
            // transactional producers' state changes (coordinator moves, abortable errors, epochs)
            "org.apache.kafka.clients.producer.internals.TransactionManager",
            "org.apache.flink.runtime.executiongraph.ExecutionGraph",
            "org.apache.flink.runtime.jobmaster.JobMaster")) {
      ch.qos.logback.classic.Logger logger =
          (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(name);
      LOG_LEVELS.put(logger, logger.getLevel());
      logger.setLevel(ch.qos.logback.classic.Level.INFO);
    }
    dir = Files.createTempDirectory("reelflow-brokers");
    long t0 = System.nanoTime();
    Map<String, String> orchestrator = new HashMap<>();
    if (!STALL_HOLD.isEmpty()) {
      orchestrator.put("task.lease.stall-hold", STALL_HOLD);
    }
    p = ClusterPipeline.start(dir, orchestrator);
    events = new EventLog(p.kafka.bootstrapServers(), p.stack.schemaRegistryUrl());
    api = p.api();
    List<WorkerJvm> fresh = new ArrayList<>();
    for (int i = 0; i < (SLOW ? 3 : 2); i++) {
      fresh.add(startWorker());
    }
    events.awaitReady(WAIT, fresh);
    LOG.info("broker fault suite: pipeline and workers up in {} ms", ms(t0));
  }

  static WorkerJvm startWorker() throws IOException {
    Map<String, String> s = new HashMap<>(SharedPipeline.workerSettings(STEP_MS, 30_000));
    if (!SLOW) {
      s.put("kafka.request.timeout.ms", WORKER_REQUEST_TIMEOUT_MS);
    }
    WorkerJvm w = p.startWorker("bf-" + (++started), s);
    workers.add(w);
    return w;
  }

  /** Set when a wait ran out: the broker and worker logs are then kept under the report folder. */
  static volatile boolean hung;

  /**
   * The levels raised for this class, restored afterwards: the ITs after it share the JVM, and the
   * producers' transaction INFO lines every checkpoint made the CI log seven times longer.
   */
  static final Map<ch.qos.logback.classic.Logger, ch.qos.logback.classic.Level> LOG_LEVELS =
      new LinkedHashMap<>();

  @AfterAll
  static void stop() {
    LOG_LEVELS.forEach(ch.qos.logback.classic.Logger::setLevel);
    workers.forEach(WorkerJvm::close);
    if (hung && dir != null) {
      keepLogs();
    }
    if (events != null) {
      events.close();
    }
    if (p != null) {
      p.close();
    }
    if (dir != null) {
      try (Stream<Path> all = Files.walk(dir)) {
        all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException e) {
        LOG.warn("could not delete {}: {}", dir, e.toString());
      }
    }
  }

  /**
   * Copies the broker and worker logs next to the report, before the temporary folder goes; not the
   * brokers' segment files (also {@code .log}, named by their base offset).
   */
  static void keepLogs() {
    Path to = RenderHistoryChecker.reportDir().resolve("broker-fault-logs");
    try (Stream<Path> all = Files.walk(dir)) {
      Files.createDirectories(to);
      for (Path f : all.filter(BrokerFaultIT::isTextLog).toList()) {
        Files.copy(
            f,
            to.resolve(dir.relativize(f).toString().replace('/', '_')),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      LOG.info("broker and worker logs kept in {}", to);
    } catch (IOException e) {
      LOG.warn("could not keep the logs: {}", e.toString());
    }
  }

  static boolean isTextLog(Path f) {
    String name = f.getFileName().toString();
    return name.endsWith(".log") && !name.matches("\\d{20}\\.log");
  }

  static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  static String submit(RenderHistory h, String prompt, int steps) {
    h.submitted();
    RenderApi.Answer a =
        api.call(
            "POST",
            "/v1/renders",
            "{\"prompt\":\""
                + prompt
                + "\",\"resolution\":\"preview\",\"frames\":17,\"steps\":"
                + steps
                + ",\"upscale\":\"none\",\"seed\":5}");
    if (a.status() == 202) {
      String id = a.json().get("id").asText();
      h.acknowledged(id);
      return id;
    }
    // Refused (e.g. 503 while Kafka cannot take it): allowed, never acknowledged, never checked.
    LOG.info("submit refused with {}: {}", a.status(), a.body());
    return null;
  }

  static void awaitAllFinal(RenderHistory h) throws InterruptedException {
    for (RenderHistory.Ack ack : h.acks()) {
      try {
        events.awaitStatus(
            WAIT,
            "a final status of " + ack.requestId(),
            s ->
                s.getRequestId().equals(ack.requestId())
                    && RenderHistoryChecker.terminal(s.getState()));
      } catch (AssertionError e) {
        // A hang: say what a read_committed reader waits for (pinned LSO, open transactions, the
        // orchestrator's offsets and its sinks' threads), so the failure names its cause.
        hung = true;
        String state = hangReport();
        LOG.error("waited in vain for {}:\n{}", ack.requestId(), state);
        throw new AssertionError(
            e.getMessage() + "\n" + events.describe(ack.requestId()) + "\n" + state, e);
      }
    }
    // A duplicate final status would be committed and read once the checkpoints begun now
    // completed.
    CompletedCheckpoints.awaitCommitted(p.dir.resolve("flink/checkpoints"), WAIT);
  }

  /** The cluster's transaction state and where the test's read_committed reader stands. */
  static String hangReport() {
    return TransactionStateReport.of(
            p.kafka.bootstrapServers(),
            List.of(Topics.STATUS, Topics.STAGE_EVENTS),
            p.orchestratorConfig.groupId())
        + "\nthe test's read_committed reader is at "
        + Topics.STATUS
        + " "
        + events.positions(Topics.STATUS)
        + ", "
        + Topics.STAGE_EVENTS
        + " "
        + events.positions(Topics.STAGE_EVENTS);
  }

  static RenderHistoryChecker.Result checkAndReport(RenderHistory h) {
    RenderHistoryChecker.Result r =
        RenderHistoryChecker.check(
            h, RenderHistoryChecker.Observed.of(events, RenderHistoryChecker.Bucket.of(p.stack)));
    List<String> hanging;
    try (Admin admin = admin()) {
      // A transaction of the current checkpoint is always open; one older than a few checkpoint
      // intervals (2 s) plus the outage is left hanging.
      hanging = RenderHistoryChecker.hangingTransactions(admin, Duration.ofSeconds(60));
    }
    r = r.withViolations(hanging);
    RenderHistoryChecker.report(r, RenderHistoryChecker.reportDir());
    StringBuilder why = new StringBuilder();
    r.violations().forEach(v -> why.append("\n- ").append(v));
    if (!r.violations().isEmpty()) {
      h.acks().forEach(a -> why.append("\n").append(events.describe(a.requestId())));
    }
    assertThat(r.violations()).as("checker violations%s", why).isEmpty();
    assertThat(r.lost()).isZero();
    assertThat(r.duplicated()).isZero();
    return r;
  }

  static Admin admin() {
    return Admin.create(
        Map.of(
            AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
            p.kafka.bootstrapServers(),
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
            30_000));
  }

  /** The broker (1-based) that leads most partitions of render.stage-events now. */
  static int leaderOfMostStageEvents(int not) throws Exception {
    try (Admin admin = admin()) {
      TopicDescription d =
          admin
              .describeTopics(List.of(Topics.STAGE_EVENTS))
              .allTopicNames()
              .get(30, TimeUnit.SECONDS)
              .get(Topics.STAGE_EVENTS);
      Map<Integer, Integer> led = new TreeMap<>();
      d.partitions().forEach(pi -> led.merge(pi.leader().id(), 1, Integer::sum));
      return led.entrySet().stream()
          .filter(e -> e.getKey() != not)
          .max(Map.Entry.comparingByValue())
          .map(Map.Entry::getKey)
          .orElse(not == 1 ? 2 : 1);
    }
  }

  /** One fault of scenario 5 and when it was healed. */
  record Fault(String what, int broker, Instant at, Instant healed) {}

  /** Extra attempts the faults cost: for each render, its last attempt minus one. */
  static int extraAttempts(RenderHistory h) {
    int extra = 0;
    for (RenderHistory.Ack a : h.acks()) {
      int max =
          events.statuses(a.requestId()).stream()
              .mapToInt(RenderStatus::getAttempt)
              .max()
              .orElse(1);
      extra += Math.max(0, max - 1);
    }
    return extra;
  }

  static Double firstProgressAfter(RenderHistory h, Instant t) {
    List<String> ids = h.acks().stream().map(RenderHistory.Ack::requestId).toList();
    return events.stageEvents.stream()
        .filter(e -> ids.contains(e.getRequestId()))
        .filter(
            e -> e.getType() == StageEventType.STARTED || e.getType() == StageEventType.PROGRESS)
        .map(StageEvent::getAt)
        .filter(at -> !at.isBefore(t))
        .min(Instant::compareTo)
        .map(at -> Duration.between(t, at).toMillis() / 1000.0)
        .orElse(null);
  }

  // ---- 5: brokers killed in turn, one frozen ----------------------------------------------

  @Test
  @Order(1)
  void s05BrokersKilledInTurnAndOneFrozenDuringABatch() throws Exception {
    String guard = STALL_HOLD.isEmpty() ? "default 30s" : STALL_HOLD;
    RenderHistory h =
        new RenderHistory(
            "05-three-broker-cluster" + (STALL_HOLD.startsWith("0") ? "-no-stall-guard" : ""));
    int n = SLOW ? 24 : 8;
    int steps = SLOW ? 16 : 20;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n / 2; i++) {
      ids.add(submit(h, "a harbour at dusk, fault 5, " + i, steps));
    }
    events.awaitStage(
        WAIT,
        "PROGRESS of scenario 5",
        e -> ids.contains(e.getRequestId()) && e.getType() == StageEventType.PROGRESS);
    List<Fault> faults = new ArrayList<>();
    List<Integer> kills = new ArrayList<>();
    if (SLOW) {
      kills.addAll(List.of(1, 2, 3));
    } else {
      kills.add(leaderOfMostStageEvents(0));
    }
    boolean restSubmitted = false;
    for (int broker : kills) {
      Instant at = Instant.now();
      p.kafka.killBroker(broker);
      LOG.info("fault 5: broker {} SIGKILLed", broker);
      if (!restSubmitted) {
        // one render submitted while the broker is down: acknowledged (min.insync.replicas 2 of
        // the 3 is met once its partitions moved) or refused with 503, never lost
        ids.add(submit(h, "a harbour at dusk, fault 5, " + (n / 2), steps));
      }
      Thread.sleep(2_000);
      p.kafka.startBroker(broker);
      if (!restSubmitted) {
        for (int i = n / 2 + 1; i < n; i++) {
          ids.add(submit(h, "a harbour at dusk, fault 5, " + i, steps));
        }
        restSubmitted = true;
      }
      Instant healed = Instant.now();
      faults.add(new Fault("SIGKILL, restarted", broker, at, healed));
      LOG.info(
          "fault 5: broker {} back after {} ms", broker, Duration.between(at, healed).toMillis());
    }
    int frozen = leaderOfMostStageEvents(kills.get(kills.size() - 1));
    long pid = p.kafka.pid(frozen);
    Instant at = Instant.now();
    signal("STOP", pid);
    try {
      Thread.sleep(STOP_MS);
    } finally {
      signal("CONT", pid);
    }
    Instant healed = Instant.now();
    faults.add(new Fault("SIGSTOP " + STOP_MS + " ms, SIGCONT", frozen, at, healed));
    h.healed(healed);
    LOG.info("fault 5: broker {} frozen {} ms", frozen, Duration.between(at, healed).toMillis());
    awaitAllFinal(h);
    RenderHistoryChecker.Result r = checkAndReport(h);
    assertThat(r.succeeded()).isEqualTo(h.acks().size());
    int extra = extraAttempts(h);
    StringBuilder json = new StringBuilder("{\"stallHold\":\"" + guard + "\",");
    json.append("\"renders\":").append(h.acks().size()).append(',');
    json.append("\"extraAttempts\":").append(extra).append(",\"faults\":[");
    for (int i = 0; i < faults.size(); i++) {
      Fault f = faults.get(i);
      Double first = firstProgressAfter(h, f.healed());
      json.append(i == 0 ? "" : ",")
          .append(
              String.format(
                  Locale.ROOT,
                  "{\"fault\":\"%s\",\"broker\":%d,\"downMillis\":%d,"
                      + "\"healToFirstProgressSeconds\":%s}",
                  f.what(),
                  f.broker(),
                  Duration.between(f.at(), f.healed()).toMillis(),
                  first));
      LOG.info(
          "fault 5: {} of broker {}: down {} ms, heal → first progress {} s",
          f.what(),
          f.broker(),
          Duration.between(f.at(), f.healed()).toMillis(),
          first);
    }
    json.append("]}\n");
    Path out = RenderHistoryChecker.reportDir();
    Files.createDirectories(out);
    Files.writeString(out.resolve(h.scenario() + "-faults.json"), json.toString());
    LOG.info(
        "fault 5 (stall hold {}): {} renders, {} extra attempts caused by the faults",
        guard,
        h.acks().size(),
        extra);
  }

  static void signal(String signal, long pid) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start();
    if (kill.waitFor() != 0) {
      throw new IOException("kill -" + signal + " " + pid + " failed");
    }
  }

  // ---- 7: the schema registry restarted mid-run --------------------------------------------

  @Test
  @Order(2)
  void s07SchemaRegistryRestartedMidRun() throws Exception {
    RenderHistory h = new RenderHistory("07-registry-restart");
    SchemaRegistryClient registry = SchemaRegistryClient.create(p.stack.schemaRegistryUrl());
    Map<String, Integer> before = schemaIds(registry);
    assertThat(before).isNotEmpty();
    int n = SLOW ? 12 : 4;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(submit(h, "a lantern in the fog, fault 7, " + i, 8));
    }
    events.awaitStage(
        WAIT,
        "PROGRESS of scenario 7",
        e -> ids.contains(e.getRequestId()) && e.getType() == StageEventType.PROGRESS);
    p.stack.registry().stop();
    Instant stopped = Instant.now();
    // While it is down: more renders, and a new worker JVM whose client has no cached schema.
    for (int i = n; i < n + 2; i++) {
      submit(h, "a lantern in the fog, fault 7, " + i, 8);
    }
    WorkerJvm fresh = startWorker();
    Thread.sleep(SLOW ? 20_000 : 6_000);
    p.stack.registry().start();
    h.healed();
    LOG.info("fault 7: registry down {} ms", Duration.between(stopped, Instant.now()).toMillis());
    Map<String, Integer> after =
        schemaIds(SchemaRegistryClient.create(p.stack.schemaRegistryUrl()));
    assertThat(after).as("schema ids across the restart").isEqualTo(before);
    events.awaitReady(WAIT, List.of(fresh));
    // The fresh worker takes renders too: one more batch after the restart.
    for (int i = n + 2; i < n + 2 + (SLOW ? 6 : 2); i++) {
      submit(h, "a lantern in the fog, fault 7, " + i, 4);
    }
    awaitAllFinal(h);
    RenderHistoryChecker.Result r = checkAndReport(h);
    assertThat(r.succeeded()).as("no render failed").isEqualTo(h.acks().size());
    LOG.info(
        "fault 7: {} schema ids unchanged across the restart; {} submitted, {} acknowledged, {}"
            + " succeeded",
        after.size(),
        h.submittedCount(),
        h.acks().size(),
        r.succeeded());
    Path out = RenderHistoryChecker.reportDir();
    Files.createDirectories(out); // scenario 5 need not have run first
    new com.fasterxml.jackson.databind.ObjectMapper()
        .writeValue(
            out.resolve("07-registry-schema-ids.json").toFile(),
            Map.of("before", new TreeMap<>(before), "after", new TreeMap<>(after)));
  }

  /** The id of every version of every subject. */
  static Map<String, Integer> schemaIds(SchemaRegistryClient registry) {
    Map<String, Integer> ids = new LinkedHashMap<>();
    for (String subject : registry.subjects()) {
      for (int v : registry.versions(subject)) {
        ids.put(subject + "/" + v, registry.getBySubjectVersion(subject, v).id());
      }
    }
    return ids;
  }
}
