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
      receiver.stop();
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
    return lifecycle("render.status", id, url);
  }

  /** As {@link #lifecycle(String, String)}, written to {@code topic}. */
  static List<String> lifecycle(String topic, String id, String url) {
    kafka.write(topic, id, status(id, RenderState.QUEUED, 1, url));
    kafka.write(topic, id, status(id, RenderState.RENDERING, 2, url));
    RenderStatus progress = status(id, RenderState.RENDERING, 3, url);
    progress.setStep(4);
    progress.setTotalSteps(8);
    kafka.write(topic, id, progress);
    kafka.write(topic, id, status(id, RenderState.SUCCEEDED, 4, url));
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

  /**
   * Scenario 12's crash. Two instances split the partitions; the one owning half of them runs in
   * its own JVM and is SIGKILLed while one of its deliveries is in flight (the receiver holds the
   * request, so the owner never records the outcome), with other deliveries of its partitions still
   * retrying and more state changes arriving while no instance owns them. The survivor (in this
   * JVM) must take those partitions over after the group's session timeout and deliver every state
   * change: the held one again with the same delivery id, body and attempt number, the retrying
   * ones continuing their attempt count and backoff. Each instance reaches the receiver on its own
   * loopback address, so every call is attributed to its sender: no delivery may come from both
   * instances while both are alive. The takeover time (SIGKILL to the survivor's first delivery of
   * the killed owner's partitions) is printed. The instances read a status topic of their own, so
   * the other tests' renders and this test's never meet in a group.
   */
  @Test
  void aSurvivorTakesOverTheDeliveriesOfAnOwnerKilledMidAttempt() throws Exception {
    String statusTopic = "render.status.g-kill";
    createTopic(statusTopic);
    String toA = "127.0.0.2"; // the killed instance reaches the receiver here
    String toB = "127.0.0.3"; // the survivor here
    Receiver rx = new Receiver(toA, toB);
    String base = "http://receiver.test:" + rx.server.getAddress().getPort();
    Duration initial = Duration.ofMillis(200);
    Duration max = Duration.ofSeconds(1);
    // A retrying delivery succeeds at the survivor's third attempt, so its backoff after the
    // takeover is seen twice.
    rx.rules.put(
        "/kill/retry",
        (to, id) ->
            rx.hits("/kill/retry", id).stream().filter(h -> h.to().equals(toB)).count() >= 2
                ? 204
                : 503);
    rx.holding.add("/kill/hold");
    Map<dev.reelflow.config.Setting<?>, String> settings =
        pairSettings(statusTopic, "g-kill", toA + "," + toB);
    long started = System.nanoTime();
    IngestJvm a =
        IngestJvm.start(
            "wh-kill-a",
            java.nio.file.Path.of("target", "webhook-kill"),
            settings,
            "receiver.test",
            toA);
    IngestServer b = null;
    List<String> expected = new ArrayList<>();
    java.util.concurrent.atomic.AtomicLong ownedAllAt =
        new java.util.concurrent.atomic.AtomicLong();
    try {
      b = inJvm("wh-kill-b", settings, toB);
      Set<Integer> partitionsOfA = awaitSplit("g-kill", "wh-kill-a", b, Duration.ofSeconds(60), a);
      // Renders in the killed owner's partitions: held (1), retrying (2), delivered before the
      // kill (2), state changes after it (2); in the survivor's: before (2) and after (2).
      List<String> ofA = new ArrayList<>();
      List<String> ofB = new ArrayList<>();
      for (int i = 0; ofA.size() < 7 || ofB.size() < 4; i++) {
        String id = "r-wh-kill-" + i;
        List<String> to = partitionsOfA.contains(partition(id)) ? ofA : ofB;
        if (to.size() < (to == ofA ? 7 : 4)) {
          to.add(id);
        }
      }
      Map<String, List<String>> ids =
          Map.of(
              "hold", ofA.subList(0, 1),
              "retry", ofA.subList(1, 3),
              "beforeA", ofA.subList(3, 5),
              "afterA", ofA.subList(5, 7),
              "beforeB", ofB.subList(0, 2),
              "afterB", ofB.subList(2, 4));
      List<String> before = new ArrayList<>();
      for (String id : concat(ids.get("beforeA"), ids.get("beforeB"))) {
        before.addAll(lifecycle(statusTopic, id, base + "/kill/ok"));
      }
      expected.addAll(before);
      List<String> retrying = new ArrayList<>();
      for (String id : ids.get("retry")) {
        kafka.write(statusTopic, id, status(id, RenderState.QUEUED, 1, base + "/kill/retry"));
        retrying.add(id + ".QUEUED.0");
      }
      expected.addAll(retrying);
      await(
          "the deliveries before the kill, and three attempts of each retrying one",
          Duration.ofSeconds(30),
          () ->
              rx.delivered("/kill/ok").containsAll(before)
                  && retrying.stream().allMatch(id -> rx.maxAttempt("/kill/retry", id) >= 3));
      // The owner has recorded those outcomes: the deliveries done before the kill are not pending
      // in the delivery topic any more, so only an attempt in flight may be sent again.
      await(
          "the delivered entries recorded",
          Duration.ofSeconds(30),
          () -> {
            Map<String, JsonNode> entries = entries("render.webhooks.g-kill");
            return ids.get("beforeA").stream()
                .allMatch(
                    id ->
                        entries.containsKey(id)
                            && (entries.get(id) == null
                                || entries.get(id).path("pending").isEmpty()));
          });
      String held = ids.get("hold").get(0);
      kafka.write(statusTopic, held, status(held, RenderState.QUEUED, 1, base + "/kill/hold"));
      expected.add(held + ".QUEUED.0");
      await(
          "the killed owner's call to be held",
          Duration.ofSeconds(30),
          () -> !rx.hits("/kill/hold", held + ".QUEUED.0").isEmpty());
      assertThat(rx.hits("/kill/hold", held + ".QUEUED.0").get(0).to()).isEqualTo(toA);
      long killAt = System.nanoTime();
      a.kill();
      // State changes while nobody delivers the killed owner's partitions.
      kafka.write(statusTopic, held, status(held, RenderState.RENDERING, 2, base + "/kill/hold"));
      expected.add(held + ".RENDERING.0");
      for (String id : concat(ids.get("afterA"), ids.get("afterB"))) {
        expected.addAll(lifecycle(statusTopic, id, base + "/kill/ok"));
      }
      IngestServer survivor = b;
      await(
          "every state change delivered after the takeover",
          Duration.ofSeconds(60),
          () -> {
            if (ownedAllAt.get() == 0 && survivor.webhookPartitions().size() == PARTITIONS) {
              ownedAllAt.set(System.nanoTime());
            }
            Set<String> done = new HashSet<>();
            for (String p : List.of("/kill/ok", "/kill/retry", "/kill/hold")) {
              done.addAll(rx.delivered(p));
            }
            return done.containsAll(expected);
          });
      await("nothing pending", Duration.ofSeconds(30), () -> survivor.pendingWebhooks() == 0);
      List<Receiver.Hit> hits = List.copyOf(rx.hits);
      long firstBySurvivor =
          hits.stream()
              .filter(h -> h.to().equals(toB))
              .filter(h -> partitionsOfA.contains(partition(h.deliveryId().split("\\.")[0])))
              .mapToLong(Receiver.Hit::at)
              .min()
              .orElseThrow();
      // Attribute every call: A's of its own partitions, all received before the survivor's first
      // call of those (a call A sent just before the kill may be handled just after it); B's of
      // A's partitions after the kill only.
      for (Receiver.Hit h : hits) {
        boolean inA = partitionsOfA.contains(partition(h.deliveryId().split("\\.")[0]));
        if (h.to().equals(toA)) {
          assertThat(inA).as("A sent %s of a partition it owned", h.deliveryId()).isTrue();
          assertThat(h.at())
              .as("A's call of %s before the survivor's first of its partitions", h.deliveryId())
              .isLessThan(firstBySurvivor);
        } else {
          assertThat(h.to()).isEqualTo(toB);
          if (inA) {
            assertThat(h.at())
                .as(
                    "B's call of %s, of the killed owner's partition, after the kill",
                    h.deliveryId())
                .isGreaterThan(killAt);
          }
        }
      }
      // Every state change delivered; none sent again but the one in flight at the kill (the
      // deliveries before it had their outcome recorded).
      for (String id : expected) {
        List<Receiver.Hit> of = hits.stream().filter(h -> id.equals(h.deliveryId())).toList();
        assertThat(of.stream().filter(h -> h.answered() / 100 == 2).count())
            .as("2xx answers to %s", id)
            .isEqualTo(1);
        assertThat(of.stream().map(Receiver.Hit::signature).distinct().count())
            .as("one body and signature for every call of %s", id)
            .isEqualTo(1);
        for (Receiver.Hit h : of) {
          assertThat(h.signature()).isEqualTo("sha256=" + WebhookDispatcher.sign(SECRET, h.body()));
          assertThat(ApiClient.JSON.readTree(h.body()).get("deliveryId").asText()).isEqualTo(id);
        }
        if (before.contains(id)) {
          assertThat(of).as("calls of %s, delivered before the kill", id).hasSize(1);
        }
      }
      assertThat(
              hits.stream()
                  .map(Receiver.Hit::deliveryId)
                  .filter(id -> !expected.contains(id))
                  .toList())
          .as("calls of anything but a state change")
          .isEmpty();
      // The call in flight at the kill is sent again by the survivor: same id, body and attempt.
      List<Receiver.Hit> heldHits = rx.hits("/kill/hold", held + ".QUEUED.0");
      assertThat(heldHits).hasSize(2);
      assertThat(heldHits.get(0).answered()).isZero();
      assertThat(heldHits.get(1).to()).isEqualTo(toB);
      assertThat(heldHits.get(1).attempt()).isEqualTo(heldHits.get(0).attempt()).isEqualTo(1);
      assertThat(heldHits.get(1).body()).isEqualTo(heldHits.get(0).body());
      // Retries keep their schedule: the survivor goes on counting where the owner stopped (its
      // last attempt again at worst, when the owner died before recording it), and every retry by
      // the same sender waited at least the backoff of the attempt before it.
      for (String id : retrying) {
        List<Receiver.Hit> of = rx.hits("/kill/retry", id);
        List<Receiver.Hit> byA = of.stream().filter(h -> h.to().equals(toA)).toList();
        List<Receiver.Hit> byB = of.stream().filter(h -> h.to().equals(toB)).toList();
        assertThat(byA).as("A's attempts of %s", id).hasSizeGreaterThanOrEqualTo(3);
        assertThat(byB).as("B's attempts of %s", id).hasSize(3);
        assertThat(byB.get(0).attempt())
            .as("B's first attempt of %s", id)
            .isGreaterThanOrEqualTo(byA.get(byA.size() - 1).attempt());
        for (List<Receiver.Hit> run : List.of(byA, byB)) {
          for (int i = 1; i < run.size(); i++) {
            Receiver.Hit prev = run.get(i - 1);
            Receiver.Hit next = run.get(i);
            assertThat(next.attempt()).as("attempts of %s", id).isEqualTo(prev.attempt() + 1);
            long waitedMs = (next.at() - prev.at()) / 1_000_000;
            assertThat(waitedMs)
                .as("wait before attempt %d of %s", next.attempt(), id)
                .isGreaterThanOrEqualTo(
                    WebhookDispatcher.backoff(initial, max, prev.attempt()).toMillis() - 20);
          }
        }
      }
      System.out.printf(
          "DurableWebhooksIT kill: SIGKILL -> survivor owns every partition %.1f s, -> its first"
              + " delivery of the killed owner's partitions %.1f s (session timeout 10 s,"
              + " heartbeat 2 s); the whole test %.1f s%n",
          (ownedAllAt.get() - killAt) / 1e9,
          (firstBySurvivor - killAt) / 1e9,
          (System.nanoTime() - started) / 1e9);
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError(e.getMessage() + "\n--- wh-kill-a's output ---\n" + a.tail(), e);
    } finally {
      a.close();
      if (b != null) {
        b.close();
      }
      rx.stop();
    }
  }

  /**
   * Scenario 12's stall: the owner of half the partitions (its own JVM) is frozen (SIGSTOP) with a
   * delivery retrying, for longer than the group's session timeout; the survivor takes the
   * partitions over and delivers it. On waking (SIGCONT) the frozen instance has that retry
   * overdue: it must neither send it nor write its stale entry over the survivor's before it has
   * found out that the partition moved. (Before the ownership lease it did both, at once.)
   */
  @Test
  void aFrozenOwnerSendsAndWritesNothingAfterItsPartitionsMoved() throws Exception {
    String statusTopic = "render.status.g-stop";
    createTopic(statusTopic);
    String toA = "127.0.0.4"; // the frozen instance reaches the receiver here
    String toB = "127.0.0.5"; // the survivor here
    Receiver rx = new Receiver(toA, toB);
    String url = "http://receiver.test:" + rx.server.getAddress().getPort() + "/stop/retry";
    rx.rules.put("/stop/retry", (to, id) -> to.equals(toB) ? 204 : 503);
    Map<dev.reelflow.config.Setting<?>, String> settings =
        pairSettings(statusTopic, "g-stop", toA + "," + toB);
    long started = System.nanoTime();
    IngestJvm a =
        IngestJvm.start(
            "wh-stop-a",
            java.nio.file.Path.of("target", "webhook-stop"),
            settings,
            "receiver.test",
            toA);
    IngestServer b = null;
    boolean frozen = false;
    try {
      b = inJvm("wh-stop-b", settings, toB);
      Set<Integer> partitionsOfA = awaitSplit("g-stop", "wh-stop-a", b, Duration.ofSeconds(60), a);
      String id = "r-wh-stop-0";
      for (int i = 1; !partitionsOfA.contains(partition(id)); i++) {
        id = "r-wh-stop-" + i;
      }
      String delivery = id + ".QUEUED.0";
      kafka.write(statusTopic, id, status(id, RenderState.QUEUED, 1, url));
      await(
          "two attempts by the owner",
          Duration.ofSeconds(30),
          () -> rx.hits("/stop/retry", delivery).size() >= 2);
      long stopAt = System.nanoTime();
      a.signal("STOP");
      frozen = true;
      await(
          "the survivor delivering it",
          Duration.ofSeconds(60),
          () -> rx.delivered("/stop/retry").contains(delivery));
      long takenOver =
          rx.hits("/stop/retry", delivery).stream()
              .filter(h -> h.to().equals(toB))
              .mapToLong(Receiver.Hit::at)
              .min()
              .orElseThrow();
      // The survivor has recorded the delivery: the entry holds nothing pending.
      await(
          "the survivor's entry",
          Duration.ofSeconds(30),
          () -> {
            JsonNode e = entries("render.webhooks.g-stop").get(delivery.split("\\.")[0]);
            return e != null && e.path("pending").isEmpty();
          });
      long wokenAt = System.nanoTime();
      a.signal("CONT");
      frozen = false;
      // Positive signal that the woken instance has dealt with its overdue retry: it is back in the
      // group with partitions of its own (it had to learn that it was dropped first).
      awaitSplit("g-stop", "wh-stop-a", b, Duration.ofSeconds(60), a);
      IngestServer survivor = b;
      await("nothing pending", Duration.ofSeconds(30), () -> survivor.pendingWebhooks() == 0);
      assertThat(
              rx.hits("/stop/retry", delivery).stream()
                  .filter(h -> h.to().equals(toA) && h.at() > wokenAt)
                  .toList())
          .as("calls of %s by the frozen owner after it woke", delivery)
          .isEmpty();
      JsonNode entry = entries("render.webhooks.g-stop").get(id);
      assertThat(entry == null || entry.path("pending").isEmpty())
          .as("the delivered entry of %s, not overwritten by the woken owner: %s", id, entry)
          .isTrue();
      System.out.printf(
          "DurableWebhooksIT stall: SIGSTOP -> survivor's delivery %.1f s; the whole test %.1f s%n",
          (takenOver - stopAt) / 1e9, (System.nanoTime() - started) / 1e9);
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError(e.getMessage() + "\n--- wh-stop-a's output ---\n" + a.tail(), e);
    } finally {
      if (frozen) {
        a.signal("CONT");
      }
      a.kill();
      if (b != null) {
        b.close();
      }
      rx.stop();
    }
  }

  /** Settings of a pair of instances on their own status topic, group and delivery topic. */
  static Map<dev.reelflow.config.Setting<?>, String> pairSettings(
      String statusTopic, String group, String allowHosts) {
    Map<dev.reelflow.config.Setting<?>, String> settings = new java.util.LinkedHashMap<>();
    settings.put(IngestConfig.PORT, "0");
    settings.put(IngestConfig.BOOTSTRAP_SERVERS, STACK.stack().bootstrapServers());
    settings.put(IngestConfig.SCHEMA_REGISTRY_URL, STACK.stack().schemaRegistryUrl());
    settings.put(IngestConfig.API_KEYS, "acme:" + ApiKeys.hash(KEY) + ":" + SECRET);
    settings.put(IngestConfig.WEBHOOKS_ENABLED, "true");
    settings.put(IngestConfig.WEBHOOK_INITIAL_BACKOFF, "200ms");
    settings.put(IngestConfig.WEBHOOK_MAX_BACKOFF, "1s");
    settings.put(IngestConfig.WEBHOOK_RETRY_FOR, "1h");
    settings.put(IngestConfig.WEBHOOK_ALLOW_HTTP, "true");
    settings.put(IngestConfig.WEBHOOK_ALLOW_HOSTS, allowHosts);
    settings.put(IngestConfig.WEBHOOK_GROUP, group);
    settings.put(IngestConfig.TOPIC_WEBHOOKS, "render.webhooks." + group);
    settings.put(IngestConfig.TOPIC_STATUS, statusTopic);
    settings.put(IngestConfig.CONSOLE_ENABLED, "false");
    return settings;
  }

  /** An instance in this JVM with {@code settings}, reaching the receiver at {@code address}. */
  static IngestServer inJvm(
      String instance, Map<dev.reelflow.config.Setting<?>, String> settings, String address)
      throws Exception {
    IngestConfig.Builder cb = IngestConfig.builder().instanceId(instance);
    settings.forEach(cb::set);
    IngestServer s =
        IngestServer.builder(cb.build())
            .callbackResolver(
                host ->
                    host.equals("receiver.test")
                        ? List.of(InetAddress.getByName(address))
                        : List.of(InetAddress.getByName(host)))
            .build()
            .start();
    assertThat(s.awaitReady(Duration.ofSeconds(60))).isTrue();
    return s;
  }

  /** A status topic of a test's own, partitioned like render.status. */
  static void createTopic(String topic) throws Exception {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of("bootstrap.servers", STACK.stack().bootstrapServers()))) {
      admin
          .createTopics(
              List.of(new org.apache.kafka.clients.admin.NewTopic(topic, PARTITIONS, (short) 1)))
          .all()
          .get();
    }
  }

  static <T> List<T> concat(List<T> x, List<T> y) {
    List<T> all = new ArrayList<>(x);
    all.addAll(y);
    return all;
  }

  /** The render.status partition of a key (Kafka's default partitioner). */
  static int partition(String key) {
    return org.apache.kafka.common.utils.Utils.toPositive(
            org.apache.kafka.common.utils.Utils.murmur2(
                key.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
        % PARTITIONS;
  }

  /**
   * Waits until the group has two members whose assignments split every partition, the in-JVM
   * instance owning what the group gave it; returns the partitions of the member {@code clientOf}.
   */
  static Set<Integer> awaitSplit(
      String group, String clientOf, IngestServer inJvm, Duration timeout, IngestJvm child)
      throws Exception {
    Map<String, Set<Integer>> split = new java.util.HashMap<>();
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.of("bootstrap.servers", STACK.stack().bootstrapServers()))) {
      await(
          "two members splitting the partitions",
          timeout,
          () -> {
            assertThat(child.process.isAlive()).as("%s is running", child.id).isTrue();
            split.clear();
            try {
              for (var m :
                  admin
                      .describeConsumerGroups(List.of(group))
                      .describedGroups()
                      .get(group)
                      .get()
                      .members()) {
                split.put(
                    m.clientId(),
                    m.assignment().topicPartitions().stream()
                        .map(org.apache.kafka.common.TopicPartition::partition)
                        .collect(Collectors.toSet()));
              }
            } catch (Exception e) {
              return false;
            }
            Set<Integer> union = new HashSet<>();
            split.values().forEach(union::addAll);
            Set<Integer> mine = inJvm.webhookPartitions();
            return split.size() == 2
                && split.values().stream().noneMatch(Set::isEmpty)
                && split.values().stream().mapToInt(Set::size).sum() == PARTITIONS
                && union.size() == PARTITIONS
                && !mine.isEmpty()
                && split.values().contains(mine)
                && split.containsKey(clientOf + "-webhooks");
          });
    }
    return split.get(clientOf + "-webhooks");
  }

  /** The latest value of every key of the delivery topic (JSON; null for a tombstone). */
  static Map<String, JsonNode> entries(String topic) {
    Map<String, Object> p =
        Map.of("bootstrap.servers", STACK.stack().bootstrapServers(), "enable.auto.commit", false);
    Map<String, JsonNode> latest = new java.util.HashMap<>();
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
          try {
            latest.put(r.key(), r.value() == null ? null : ApiClient.JSON.readTree(r.value()));
          } catch (java.io.IOException e) {
            throw new AssertionError(e);
          }
        }
      }
    }
    return latest;
  }

  /**
   * A real HTTP receiver on a free port of one or more loopback addresses (the same port on each,
   * so each sender can be pointed at its own address and recognised by it): records every call with
   * the address it reached and when, answers 503 on failing paths or what a path's rule says, and
   * holds the first call of a holding path unanswered until released.
   */
  static final class Receiver {
    /**
     * One call. {@code to}: the receiver address it reached; {@code at}: {@link System#nanoTime()}
     * on arrival; {@code answered}: the status sent, 0 for a held call (no answer reached the
     * sender).
     */
    record Hit(
        String path,
        String deliveryId,
        int attempt,
        String signature,
        byte[] body,
        int answered,
        String to,
        long at) {}

    /** How a path answers a call, given the calls recorded before it. */
    interface Rule {
      int answer(String to, String deliveryId);
    }

    final List<HttpServer> servers = new ArrayList<>();
    final HttpServer server;
    final List<Hit> hits = new CopyOnWriteArrayList<>();
    final Set<String> failing = java.util.concurrent.ConcurrentHashMap.newKeySet();
    final Map<String, Rule> rules = new java.util.concurrent.ConcurrentHashMap<>();
    final Set<String> holding = java.util.concurrent.ConcurrentHashMap.newKeySet();
    final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

    Receiver() throws Exception {
      this("127.0.0.1");
    }

    Receiver(String... addresses) throws Exception {
      int port = 0;
      for (String a : addresses) {
        HttpServer s = HttpServer.create(new InetSocketAddress(a, port), 0);
        port = s.getAddress().getPort();
        s.createContext("/", this::handle);
        s.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        s.start();
        servers.add(s);
      }
      server = servers.get(0);
    }

    private void handle(com.sun.net.httpserver.HttpExchange ex) throws java.io.IOException {
      long at = System.nanoTime();
      byte[] body = ex.getRequestBody().readAllBytes();
      String path = ex.getRequestURI().getPath();
      String to = ex.getLocalAddress().getAddress().getHostAddress();
      String id = ex.getRequestHeaders().getFirst(WebhookDispatcher.DELIVERY);
      String attempt = ex.getRequestHeaders().getFirst(WebhookDispatcher.ATTEMPT);
      boolean hold;
      int code;
      synchronized (this) {
        hold = holding.remove(path);
        Rule rule = rules.get(path);
        code = hold ? 0 : rule != null ? rule.answer(to, id) : failing.contains(path) ? 503 : 204;
        hits.add(
            new Hit(
                path,
                id,
                attempt == null ? -1 : Integer.parseInt(attempt),
                ex.getRequestHeaders().getFirst(WebhookDispatcher.SIGNATURE),
                body,
                code,
                to,
                at));
      }
      if (hold) {
        try {
          release.await(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        code = 204;
      }
      try {
        ex.sendResponseHeaders(code, -1);
      } catch (java.io.IOException gone) {
        // the sender is gone (a held call whose sender was killed)
      }
      ex.close();
    }

    void stop() {
      release.countDown();
      servers.forEach(s -> s.stop(0));
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
