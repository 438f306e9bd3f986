package dev.reelflow.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.reelflow.schemas.DeadLetters;
import dev.reelflow.schemas.TopicProvisioner;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.stack.LocalStackExtension;
import dev.reelflow.storage.input.CheckedHttpClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 17, scenario 12, on the embedded stack with real HTTP receivers: webhook deliveries survive
 * an ingest restart with their retry schedule, two instances with webhooks enabled deliver each
 * state change once between them (hand-overs included), and deliveries that run out of retries or
 * reach a refused address are dead-lettered. Every wait is for a positive signal.
 */
class DurableWebhooksIT {
  @RegisterExtension
  static final LocalStackExtension STACK = LocalStackExtension.builder().kafka().registry().build();

  static final String KEY = "wh-key-acme";
  static final String SECRET = "whsec-acme";
  static final int PARTITIONS = 6; // render.status in the catalogue
  static KafkaTopics kafka;
  static Receiver receiver;

  @BeforeAll
  static void start() throws Exception {
    TopicProvisioner.builder()
        .bootstrapServers(STACK.stack().bootstrapServers())
        .build()
        .provision();
    kafka = new KafkaTopics(STACK.stack().bootstrapServers(), STACK.stack().schemaRegistryUrl());
    receiver = new Receiver();
  }

  @AfterAll
  static void stop() {
    if (receiver != null) {
      receiver.server.stop(0);
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  /** An ingest instance delivering webhooks through the given group and delivery topic. */
  static IngestServer ingest(String instance, String group, Duration retryFor) throws Exception {
    return ingest(instance, group, retryFor, CheckedHttpClient.Resolver.system());
  }

  static IngestServer ingest(
      String instance, String group, Duration retryFor, CheckedHttpClient.Resolver resolver)
      throws Exception {
    IngestConfig c =
        IngestConfig.builder()
            .port(0)
            .instanceId(instance)
            .bootstrapServers(STACK.stack().bootstrapServers())
            .schemaRegistryUrl(STACK.stack().schemaRegistryUrl())
            .apiKeys("acme:" + ApiKeys.hash(KEY) + ":" + SECRET)
            .webhooks(true, Duration.ofMillis(100), retryFor)
            .webhookAllow(true, "127.0.0.1")
            .set(IngestConfig.WEBHOOK_MAX_BACKOFF, "400ms")
            .set(IngestConfig.WEBHOOK_GROUP, group)
            .set(IngestConfig.TOPIC_WEBHOOKS, "render.webhooks." + group)
            .set(IngestConfig.CONSOLE_ENABLED, "false")
            .build();
    IngestServer s = IngestServer.builder(c).callbackResolver(resolver).build().start();
    assertThat(s.awaitReady(Duration.ofSeconds(60))).isTrue();
    return s;
  }

  static RenderStatus status(String id, RenderState state, long version, String url) {
    Instant now = Instant.now();
    return RenderStatus.newBuilder()
        .setRequestId(id)
        .setTenant("acme")
        .setState(state)
        .setVersion(version)
        .setCreatedAt(now)
        .setUpdatedAt(now)
        .setCallbackUrl(url)
        .build();
  }

  /** QUEUED, RENDERING, progress (no delivery), SUCCEEDED: three state changes. */
  static List<String> lifecycle(String id, String url) {
    kafka.write("render.status", id, status(id, RenderState.QUEUED, 1, url));
    kafka.write("render.status", id, status(id, RenderState.RENDERING, 2, url));
    RenderStatus progress = status(id, RenderState.RENDERING, 3, url);
    progress.setStep(4);
    progress.setTotalSteps(8);
    kafka.write("render.status", id, progress);
    kafka.write("render.status", id, status(id, RenderState.SUCCEEDED, 4, url));
    return List.of(id + ".QUEUED.0", id + ".RENDERING.0", id + ".SUCCEEDED.0");
  }

  static void await(String what, Duration timeout, BooleanSupplier done) {
    long until = System.nanoTime() + timeout.toNanos();
    while (!done.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(until);
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  static void awaitOwnership(Duration timeout, IngestServer... servers) {
    await(
        "the webhook partitions to be owned",
        timeout,
        () -> {
          List<Set<Integer>> owned = new ArrayList<>();
          for (IngestServer s : servers) {
            owned.add(s.webhookPartitions());
          }
          Set<Integer> union = new HashSet<>();
          int total = 0;
          for (Set<Integer> o : owned) {
            union.addAll(o);
            total += o.size();
            if (o.isEmpty()) {
              return false;
            }
          }
          return union.size() == PARTITIONS && total == PARTITIONS;
        });
  }

  /** Keys of the delivery topic whose latest record is not a tombstone. */
  static Set<String> liveEntries(String topic) {
    Map<String, Object> p =
        Map.of("bootstrap.servers", STACK.stack().bootstrapServers(), "enable.auto.commit", false);
    Map<String, Boolean> live = new java.util.HashMap<>();
    try (org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]> c =
        new org.apache.kafka.clients.consumer.KafkaConsumer<>(
            p,
            new org.apache.kafka.common.serialization.StringDeserializer(),
            new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      List<org.apache.kafka.common.TopicPartition> parts =
          c.partitionsFor(topic).stream()
              .map(i -> new org.apache.kafka.common.TopicPartition(topic, i.partition()))
              .toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<org.apache.kafka.common.TopicPartition, Long> end = c.endOffsets(parts);
      while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        for (var r : c.poll(Duration.ofMillis(200))) {
          live.put(r.key(), r.value() != null);
        }
      }
    }
    return live.entrySet().stream()
        .filter(Map.Entry::getValue)
        .map(Map.Entry::getKey)
        .collect(Collectors.toSet());
  }

  @Test
  void pendingDeliveriesSurviveARestartWithTheirRetrySchedule() throws Exception {
    String path = "/restart";
    String url = receiver.url(path);
    receiver.failing.add(path);
    List<String> expected = new ArrayList<>();
    IngestServer first = ingest("wh-restart-1", "g-restart", Duration.ofHours(1));
    try {
      awaitOwnership(Duration.ofSeconds(60), first);
      for (int i = 0; i < 8; i++) {
        expected.addAll(lifecycle("r-wh-restart-" + i, url));
      }
      // Every delivery was tried and failed at least twice: their schedules are in the topic.
      await(
          "two failed attempts of every delivery",
          Duration.ofSeconds(60),
          () -> expected.stream().allMatch(id -> receiver.maxAttempt(path, id) >= 2));
    } finally {
      first.close();
    }
    // A state change reached while no instance runs is delivered after the restart.
    expected.addAll(List.of("r-wh-restart-down.QUEUED.0"));
    kafka.write(
        "render.status",
        "r-wh-restart-down",
        status("r-wh-restart-down", RenderState.QUEUED, 1, url));
    Map<String, Integer> attemptsBefore =
        expected.stream().collect(Collectors.toMap(id -> id, id -> receiver.maxAttempt(path, id)));
    receiver.failing.remove(path);
    IngestServer second = ingest("wh-restart-2", "g-restart", Duration.ofHours(1));
    try {
      await(
          "every state change delivered after the restart",
          Duration.ofSeconds(60),
          () -> receiver.delivered(path).containsAll(expected));
      await("nothing pending", Duration.ofSeconds(30), () -> second.pendingWebhooks() == 0);
    } finally {
      second.close();
    }
    for (String id : expected) {
      List<Receiver.Hit> hits = receiver.hits(path, id);
      assertThat(hits.stream().filter(h -> h.answered() / 100 == 2).count())
          .as("2xx answers to %s", id)
          .isEqualTo(1);
      // The attempt count went on across the restart instead of starting again.
      List<Integer> attempts = hits.stream().map(Receiver.Hit::attempt).toList();
      for (int i = 1; i < attempts.size(); i++) {
        assertThat(attempts.get(i)).as("attempts of %s", id).isGreaterThan(attempts.get(i - 1));
      }
      assertThat(attempts.get(attempts.size() - 1))
          .as("the delivered attempt of %s", id)
          .isGreaterThan(attemptsBefore.get(id));
      for (Receiver.Hit h : hits) {
        assertThat(h.signature()).isEqualTo("sha256=" + WebhookDispatcher.sign(SECRET, h.body()));
        assertThat(ApiClient.JSON.readTree(h.body()).get("deliveryId").asText()).isEqualTo(id);
      }
    }
    // Progress is no state change: nothing else reached the receiver.
    assertThat(receiver.ids(path)).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void twoInstancesDeliverEveryStateChangeOnceBetweenThemAcrossHandOvers() throws Exception {
    String path = "/pair";
    String url = receiver.url(path);
    List<String> expected = new ArrayList<>();
    IngestServer x = ingest("wh-pair-x", "g-pair", Duration.ofHours(1));
    IngestServer y = ingest("wh-pair-y", "g-pair", Duration.ofHours(1));
    IngestServer z = null;
    try {
      awaitOwnership(Duration.ofSeconds(60), x, y);
      for (int i = 0; i < 12; i++) {
        expected.addAll(lifecycle("r-wh-pair-" + i, url));
      }
      // Hand-overs while deliveries flow: y leaves, z joins.
      y.close();
      for (int i = 12; i < 24; i++) {
        expected.addAll(lifecycle("r-wh-pair-" + i, url));
      }
      z = ingest("wh-pair-z", "g-pair", Duration.ofHours(1));
      for (int i = 24; i < 36; i++) {
        expected.addAll(lifecycle("r-wh-pair-" + i, url));
      }
      awaitOwnership(Duration.ofSeconds(60), x, z);
      await(
          "every state change delivered",
          Duration.ofSeconds(60),
          () -> receiver.delivered(path).containsAll(expected));
      IngestServer zz = z;
      await(
          "nothing pending",
          Duration.ofSeconds(30),
          () -> x.pendingWebhooks() == 0 && zz.pendingWebhooks() == 0);
      // Renders that are final with everything delivered leave only tombstones behind.
      // (The group also picked up the other tests' recent renders from render.status, since it
      // starts at the earliest offset; a render that is not final keeps its entry.)
      await(
          "every entry tombstoned",
          Duration.ofSeconds(30),
          () ->
              liveEntries("render.webhooks.g-pair").stream()
                  .noneMatch(k -> k.startsWith("r-wh-pair-")));
    } finally {
      for (IngestServer s : new IngestServer[] {x, y, z}) {
        if (s != null) {
          s.close();
        }
      }
    }
    for (String id : expected) {
      assertThat(receiver.hits(path, id)).as("deliveries of %s", id).hasSize(1);
    }
    assertThat(receiver.ids(path)).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void exhaustedAndRefusedDeliveriesAreDeadLetteredWithTheirReason() throws Exception {
    String path = "/dead";
    receiver.failing.add(path);
    // A name (not a literal, so the submit-time rules pass) that resolves to the cloud metadata
    // address at delivery time (DNS rebinding): refused at connect time.
    String refusedUrl = "http://rebind.test:" + receiver.server.getAddress().getPort() + "/refused";
    IngestServer s =
        ingest(
            "wh-dead-1",
            "g-dead",
            Duration.ofSeconds(1),
            host ->
                host.equals("rebind.test")
                    ? List.of(InetAddress.getByName("169.254.169.254"))
                    : List.of(InetAddress.getByName(host)));
    try {
      awaitOwnership(Duration.ofSeconds(60), s);
      kafka.write(
          "render.status",
          "r-wh-dead-1",
          status("r-wh-dead-1", RenderState.QUEUED, 1, receiver.url(path)));
      kafka.write(
          "render.status", "r-wh-dead-2", status("r-wh-dead-2", RenderState.QUEUED, 1, refusedUrl));
      List<DeadLetter> letters =
          kafka.readAll(
              "render.dlq",
              DeadLetter.class,
              d -> String.valueOf(d.getRequestId()).startsWith("r-wh-dead-"),
              2,
              Duration.ofSeconds(60));
      assertThat(letters).hasSize(2);
      Map<String, DeadLetter> byId =
          letters.stream().collect(Collectors.toMap(d -> d.getRequestId().toString(), d -> d));
      assertThat(byId.get("r-wh-dead-1").getReason().toString())
          .startsWith(WebhookDispatcher.RETRIES_EXHAUSTED + ": delivery r-wh-dead-1.QUEUED.0");
      assertThat(byId.get("r-wh-dead-2").getReason().toString())
          .startsWith(WebhookDispatcher.REFUSED + ": delivery r-wh-dead-2.QUEUED.0")
          .contains("169.254.169.254");
      assertThat(byId.get("r-wh-dead-2").getSourceTopic().toString())
          .isEqualTo("render.webhooks.g-dead");
      JsonNode body = ApiClient.JSON.readTree(byId.get("r-wh-dead-1").getValue().array());
      assertThat(body.get("deliveryId").asText()).isEqualTo("r-wh-dead-1.QUEUED.0");
      assertThat(DeadLetters.headerValues(byId.get("r-wh-dead-1")))
          .containsEntry(DeadLetters.HEADER_COMPONENT, "ingest");
      await("nothing pending", Duration.ofSeconds(30), () -> s.pendingWebhooks() == 0);
      assertThat(
              new String(s.services().metrics().scrape(), java.nio.charset.StandardCharsets.UTF_8))
          .contains("outcome=\"gave_up\"")
          .contains("outcome=\"refused\"")
          .contains("outcome=\"dead_lettered\"")
          .contains("reelflow_ingest_webhooks_pending 0");
    } finally {
      s.close();
    }
    assertThat(receiver.hits(path, "r-wh-dead-1.QUEUED.0")).hasSizeGreaterThanOrEqualTo(1);
    assertThat(receiver.ids("/refused")).isEmpty();
  }

  /** A real HTTP receiver on a free port: records every call, answers 503 on failing paths. */
  static final class Receiver {
    record Hit(
        String path, String deliveryId, int attempt, String signature, byte[] body, int answered) {}

    final HttpServer server;
    final List<Hit> hits = new CopyOnWriteArrayList<>();
    final Set<String> failing = java.util.concurrent.ConcurrentHashMap.newKeySet();

    Receiver() throws Exception {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext(
          "/",
          ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            String path = ex.getRequestURI().getPath();
            int code = failing.contains(path) ? 503 : 204;
            String attempt = ex.getRequestHeaders().getFirst(WebhookDispatcher.ATTEMPT);
            hits.add(
                new Hit(
                    path,
                    ex.getRequestHeaders().getFirst(WebhookDispatcher.DELIVERY),
                    attempt == null ? -1 : Integer.parseInt(attempt),
                    ex.getRequestHeaders().getFirst(WebhookDispatcher.SIGNATURE),
                    body,
                    code));
            ex.sendResponseHeaders(code, -1);
            ex.close();
          });
      server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
      server.start();
    }

    String url(String path) {
      return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    List<Hit> hits(String path, String id) {
      return hits.stream().filter(h -> h.path().equals(path) && id.equals(h.deliveryId())).toList();
    }

    int maxAttempt(String path, String id) {
      return hits(path, id).stream().mapToInt(Hit::attempt).max().orElse(0);
    }

    Set<String> delivered(String path) {
      return hits.stream()
          .filter(h -> h.path().equals(path) && h.answered() / 100 == 2)
          .map(Hit::deliveryId)
          .collect(Collectors.toSet());
    }

    Set<String> ids(String path) {
      return hits.stream()
          .filter(h -> h.path().equals(path))
          .map(Hit::deliveryId)
          .collect(Collectors.toSet());
    }
  }
}
