package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.emulated.EmulatedWorkers;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import dev.reelflow.stack.CompletedCheckpoints;
import dev.reelflow.stack.LocalStackExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restarts of the orchestrator job on one Kafka (embedded stack; the test plays EMULATED workers):
 * a new job resumes from the retained checkpoint of the one before (skipping a corrupt and a
 * cut-off newer one), and a job whose state is gone takes the unfinished renders over from the
 * topics, ending each exactly once.
 */
// Orders the report only: each test has its own renders, checkpoint folder and consumer group,
// and counts the shared worker's tasks from its own start.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OrchestratorRestartIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().kafka().registry().build();

  @TempDir static Path dir;

  static RecordCodec codec;
  static KafkaProducer<byte[], byte[]> producer;
  static EmulatedWorkers base;

  @BeforeAll
  static void topicsAndWorkers() throws Exception {
    String bootstrap = STACK.stack().bootstrapServers();
    OrchestratorIT.createTopics(bootstrap);
    codec = new RegistryRecordCodec(STACK.stack().schemaRegistryUrl());
    codec.open();
    producer =
        new KafkaProducer<>(
            Map.of("bootstrap.servers", bootstrap),
            new ByteArraySerializer(),
            new ByteArraySerializer());
    // One base worker with one slot and slow tasks: a batch is partly running, partly queued.
    base =
        EmulatedWorkers.builder()
            .bootstrapServers(bootstrap)
            .registryUrl(STACK.stack().schemaRegistryUrl())
            .pool(Stage.BASE)
            .workers(1)
            .taskMillis(1_500)
            .build();
  }

  @AfterAll
  static void close() throws Exception {
    if (base != null) {
      base.close();
    }
    if (producer != null) {
      producer.close();
    }
  }

  static JobClient startJob(String name, Path checkpoints, boolean recover) throws Exception {
    OrchestratorConfig config =
        OrchestratorConfig.builder()
            .bootstrapServers(STACK.stack().bootstrapServers())
            .registryUrl(STACK.stack().schemaRegistryUrl())
            .checkpointInterval(Duration.ofMillis(500))
            .checkpointDir(checkpoints.toUri().toString())
            .transactionTimeout(Duration.ofMinutes(1))
            .stateBackend("hashmap")
            .groupId(name)
            .transactionalIdPrefix(name)
            .build();
    Configuration flink = new Configuration();
    flink.setString("restart-strategy.type", "none");
    // As reelflow up's MiniCluster: the JobManager keeps the newest 3.
    flink.setString("execution.checkpointing.num-retained", "3");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, flink);
    return OrchestratorJob.builder().config(config).recoverFromTopics(recover).build().start(env);
  }

  @Test
  @Order(1)
  void aRestartResumesFromTheNewestUsableRetainedCheckpoint() throws Exception {
    Path checkpoints = dir.resolve("restore");
    List<String> ids = List.of("rs-0", "rs-1", "rs-2", "rs-3");
    JobClient first = startJob("restart-it-restore", checkpoints, false);
    for (String id : ids) {
      submit(Fixtures.request(id, "demo", 5, UpscaleTarget.NONE));
    }
    producer.flush();
    // Committed statuses mean a completed checkpoint holds the renders: one running, the rest
    // queued behind the single slot.
    List<RenderStatus> before =
        statuses(
            readUntil(
                recs -> {
                  List<RenderStatus> s = statuses(recs);
                  return ids.stream()
                          .allMatch(id -> s.stream().anyMatch(x -> x.getRequestId().equals(id)))
                      && s.stream().anyMatch(x -> x.getState() == RenderState.RENDERING);
                },
                Duration.ofSeconds(60)));
    assertThat(before.stream().filter(OrchestratorIT::terminal).map(RenderStatus::getRequestId))
        .as("the kill comes while renders are unfinished")
        .hasSizeLessThan(ids.size());
    CompletedCheckpoints.awaitNew(checkpoints, 1, Duration.ofSeconds(30)); // one more retained
    first.cancel().get();

    Optional<RetainedCheckpoints.Found> retained =
        RetainedCheckpoints.latest(checkpoints.toUri().toString(), OrchestratorJob.RESTORE_UIDS);
    assertThat(retained).as("the cancelled job's checkpoints are retained").isPresent();
    try (Stream<Path> files = Files.walk(checkpoints)) {
      assertThat(files.filter(p -> p.getFileName().toString().equals("_metadata")).count())
          .as("several retained, so a cut-off newest one leaves one to fall back to")
          .isGreaterThanOrEqualTo(2);
    }
    // A newer checkpoint of a later job that was cut off, and one whose metadata is corrupt: both
    // are skipped with a reason and the retained one above is still chosen.
    Path corrupt = checkpoints.resolve("00000000000000000000000000000001/chk-900");
    Files.createDirectories(corrupt);
    Files.write(corrupt.resolve("_metadata"), new byte[] {1, 2, 3, 4, 5});
    Files.createDirectories(checkpoints.resolve("00000000000000000000000000000001/chk-901"));
    Optional<RetainedCheckpoints.Found> chosen =
        RetainedCheckpoints.latest(checkpoints.toUri().toString(), OrchestratorJob.RESTORE_UIDS);
    assertThat(chosen).isPresent();
    assertThat(chosen.get().path()).isEqualTo(retained.get().path());
    assertThat(chosen.get().skipped())
        .anyMatch(s -> s.contains("chk-900") && s.contains("unreadable _metadata"))
        .anyMatch(s -> s.contains("chk-901") && s.contains("no _metadata"));

    // Without the restore (and without the topic recovery) these renders would hang: the group's
    // committed offsets are past their requests.
    JobClient second = startJob("restart-it-restore", checkpoints, false);
    try {
      List<RenderStatus> all = statuses(readUntil(finalFor(ids), Duration.ofSeconds(90)));
      assertExactlyOneFinal(all, ids, RenderState.SUCCEEDED);
      assertVersionsGrow(all, ids);
      // Restored state: every render ran its base stage as attempt 1, none was re-dispatched.
      assertThat(
              base.received().stream()
                  .filter(r -> ids.contains(r.task().getRequestId()))
                  .map(r -> r.task().getTaskId()))
          .allMatch(t -> t.endsWith(":BASE:1"));
    } finally {
      second.cancel().get();
    }
  }

  @Test
  @Order(2)
  void aStartWithoutStateTakesUnfinishedRendersOverFromTheTopics() throws Exception {
    Path checkpoints = dir.resolve("lost");
    List<String> ids = List.of("ls-0", "ls-1", "ls-2", "ls-3");
    JobClient first = startJob("restart-it-lost", checkpoints, true);
    for (String id : ids) {
      submit(Fixtures.request(id, "acme", 5, UpscaleTarget.NONE));
    }
    producer.flush();
    List<RenderStatus> before =
        statuses(
            readUntil(
                recs -> {
                  List<RenderStatus> s = statuses(recs);
                  return ids.stream()
                          .allMatch(
                              id ->
                                  s.stream()
                                      .anyMatch(
                                          x ->
                                              x.getRequestId().equals(id)
                                                  && x.getState() != RenderState.ACCEPTED))
                      && s.stream()
                          .anyMatch(
                              x ->
                                  ids.contains(x.getRequestId())
                                      && x.getState() == RenderState.RENDERING);
                },
                Duration.ofSeconds(60)));
    // Checkpoints completed after the statuses: the group's offsets are past the requests.
    CompletedCheckpoints.awaitNew(checkpoints, 2, Duration.ofSeconds(30));
    // The source commits its offsets after a checkpoint completes, asynchronously: wait for the
    // commit itself, or the next job may read the requests again.
    awaitRequestsCommitted("restart-it-lost", Duration.ofSeconds(30));
    first.cancel().get();
    List<String> running =
        before.stream()
            .filter(s -> s.getState() == RenderState.RENDERING)
            .map(RenderStatus::getRequestId)
            .filter(ids::contains)
            .distinct()
            .toList();
    // The worker finishes what it was running while no job is up: its final objects exist, and
    // the new job must not render it again.
    long finishing = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!base.finishedAt().keySet().containsAll(running)) {
      assertThat(System.nanoTime())
          .as("the worker finishes %s (finished: %s)", running, base.finishedAt().keySet())
          .isLessThan(finishing);
      Thread.sleep(50);
    }

    // A render whose request is past retention: only its status is left.
    produceStatus(status("ls-gone", RenderState.QUEUED, 1));
    producer.flush();

    // The state is gone: a new machine with the same Kafka.
    deleteRecursively(checkpoints);
    int receivedBefore = base.received().size();
    JobClient second = startJob("restart-it-lost", checkpoints, true);
    try {
      List<String> all = new ArrayList<>(ids);
      all.add("ls-gone");
      readUntil(finalFor(all), Duration.ofSeconds(90));
      // Late duplicates would be committed and read once the checkpoints begun now completed.
      CompletedCheckpoints.awaitCommitted(checkpoints, Duration.ofSeconds(30));
      List<RenderStatus> statuses = statuses(readUntil(finalFor(all), Duration.ofSeconds(30)));
      assertExactlyOneFinal(statuses, ids, RenderState.SUCCEEDED);
      assertExactlyOneFinal(statuses, List.of("ls-gone"), RenderState.FAILED);
      assertVersionsGrow(statuses, all);
      RenderStatus gone = finalOf(statuses, "ls-gone");
      assertThat(gone.getError().getCode()).isEqualTo(ErrorCode.INTERNAL);
      assertThat(gone.getError().getMessage()).contains("past retention").contains("Submit it");
      for (String id : ids) {
        assertThat(finalOf(statuses, id).getOutputs())
            .extracting(o -> o.getKey())
            .contains("acme/2026/11/25/" + id + "/final/video.mp4");
      }
      List<String> newTasks =
          base.received().stream()
              .skip(receivedBefore)
              .map(r -> r.task().getTaskId())
              .collect(Collectors.toList());
      assertThat(running).isNotEmpty();
      for (String id : running) {
        assertThat(newTasks)
            .as("render %s finished while no job ran", id)
            .noneMatch(t -> t.startsWith(id + ":"));
      }
      // A taken-over render runs as a new attempt, above every attempt of the lost job.
      assertThat(newTasks).isNotEmpty().allMatch(t -> !t.endsWith(":BASE:1"));
    } finally {
      second.cancel().get();
    }
  }

  /** Waits until the group's committed offsets on the requests topic reach its end offsets. */
  static void awaitRequestsCommitted(String group, Duration timeout) throws Exception {
    try (Admin admin =
        Admin.create(Map.of("bootstrap.servers", STACK.stack().bootstrapServers()))) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (TopicPartitionInfo i :
          admin
              .describeTopics(List.of(TopicNames.REQUESTS))
              .allTopicNames()
              .get()
              .get(TopicNames.REQUESTS)
              .partitions()) {
        latest.put(new TopicPartition(TopicNames.REQUESTS, i.partition()), OffsetSpec.latest());
      }
      Map<TopicPartition, Long> end = new HashMap<>();
      admin.listOffsets(latest).all().get().forEach((tp, o) -> end.put(tp, o.offset()));
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        if (end.entrySet().stream()
            .allMatch(
                e ->
                    e.getValue() == 0
                        || (committed.get(e.getKey()) != null
                            && committed.get(e.getKey()).offset() >= e.getValue()))) {
          return;
        }
        assertThat(System.nanoTime())
            .as("%s committed %s of the requests (end offsets %s)", group, committed, end)
            .isLessThan(deadline);
        Thread.sleep(50);
      }
    }
  }

  static Predicate<List<ConsumerRecord<byte[], byte[]>>> finalFor(List<String> ids) {
    return recs ->
        statuses(recs).stream()
            .filter(OrchestratorIT::terminal)
            .map(RenderStatus::getRequestId)
            .collect(Collectors.toSet())
            .containsAll(ids);
  }

  // ---- helpers --------------------------------------------------------------------------

  static RenderStatus status(String id, RenderState state, int attempt) {
    RenderRequest r = Fixtures.request(id, "acme", 5, UpscaleTarget.NONE);
    return RenderLifecycle.status(
        record(r, state, attempt), Instant.now().toEpochMilli(), null, null);
  }

  private static RenderRecord record(RenderRequest r, RenderState state, int attempt) {
    RenderRecord rec = new RenderRecord();
    rec.request = r;
    rec.state = state;
    rec.stage = Stage.BASE;
    rec.attempt = attempt;
    rec.attempts = attempt;
    rec.seq = 3;
    rec.priority = 5;
    rec.createdAt = Fixtures.T0.toEpochMilli();
    rec.lineageRunId = LineageJson.runId(r.getRequestId());
    return rec;
  }

  static void produceStatus(RenderStatus s) throws Exception {
    producer.send(
        new ProducerRecord<>(
            TopicNames.STATUS,
            s.getRequestId().getBytes(StandardCharsets.UTF_8),
            codec.encode(TopicNames.STATUS, s)));
  }

  static void submit(RenderRequest r) throws Exception {
    producer.send(
        new ProducerRecord<>(
            TopicNames.REQUESTS,
            r.getRequestId().getBytes(StandardCharsets.UTF_8),
            codec.encode(TopicNames.REQUESTS, r)));
  }

  static RenderStatus finalOf(List<RenderStatus> all, String id) {
    return all.stream()
        .filter(s -> s.getRequestId().equals(id) && OrchestratorIT.terminal(s))
        .findFirst()
        .orElseThrow();
  }

  static void assertExactlyOneFinal(List<RenderStatus> all, List<String> ids, RenderState end) {
    for (String id : ids) {
      List<RenderStatus> finals =
          all.stream()
              .filter(s -> s.getRequestId().equals(id) && OrchestratorIT.terminal(s))
              .toList();
      assertThat(finals).as("final statuses of %s", id).hasSize(1);
      assertThat(finals.get(0).getState()).as("%s: %s", id, finals.get(0)).isEqualTo(end);
    }
  }

  /** In topic order, each render's versions only grow (a reader never sees it go back). */
  static void assertVersionsGrow(List<RenderStatus> all, List<String> ids) {
    Map<String, Long> last = new HashMap<>();
    for (RenderStatus s : all) {
      if (!ids.contains(s.getRequestId())) {
        continue;
      }
      Long before = last.put(s.getRequestId(), s.getVersion());
      assertThat(before == null || before < s.getVersion())
          .as("%s version %s after %s (%s)", s.getRequestId(), s.getVersion(), before, s.getState())
          .isTrue();
    }
  }

  static List<ConsumerRecord<byte[], byte[]>> readUntil(
      Predicate<List<ConsumerRecord<byte[], byte[]>>> done, Duration timeout) {
    Properties p = new Properties();
    p.put("bootstrap.servers", STACK.stack().bootstrapServers());
    p.put("isolation.level", "read_committed");
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      // One partition in order is enough for the per-render order checks: a render's statuses
      // share its key's partition.
      List<TopicPartition> parts =
          c.partitionsFor(TopicNames.STATUS).stream()
              .map(i -> new TopicPartition(TopicNames.STATUS, i.partition()))
              .collect(Collectors.toList());
      c.assign(parts);
      c.seekToBeginning(parts);
      long end = System.currentTimeMillis() + timeout.toMillis();
      while (System.currentTimeMillis() < end) {
        c.poll(Duration.ofMillis(200)).forEach(all::add);
        if (done.test(all)) {
          return all;
        }
      }
    }
    throw new AssertionError(
        "condition not met within " + timeout + "; statuses: " + describe(statuses(all)));
  }

  static String describe(List<RenderStatus> all) {
    return all.stream()
        .map(s -> s.getRequestId() + ":" + s.getState() + ":" + s.getAttempt())
        .collect(Collectors.joining(", "));
  }

  static List<RenderStatus> statuses(List<ConsumerRecord<byte[], byte[]>> records) {
    List<RenderStatus> out = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      try {
        out.add((RenderStatus) codec.decode(TopicNames.STATUS, r.value()));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  static void deleteRecursively(Path root) throws Exception {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
