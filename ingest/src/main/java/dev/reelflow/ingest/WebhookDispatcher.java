package dev.reelflow.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.reelflow.schemas.DeadLetters;
import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.storage.input.AddressPolicy;
import dev.reelflow.storage.input.CheckedHttpClient;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable webhooks: posts a render's status to its {@code callbackUrl} on every state change (not
 * on progress), signed with HMAC-SHA256 over the exact body bytes with the tenant's webhook secret:
 *
 * <ul>
 *   <li>{@code X-ReelFlow-Signature: sha256=<hex>}
 *   <li>{@code X-ReelFlow-Delivery: <requestId>.<STATE>.<attempts>}, also the body's {@code
 *       deliveryId}: the same on every retry, on every instance and after restarts, so receivers
 *       dedupe on it
 *   <li>{@code X-ReelFlow-Event: render.status}
 *   <li>{@code X-ReelFlow-Delivery-Attempt: <n>}: 1 on the first try, counted across restarts (a
 *       try cut off by a crash is sent again with the same number)
 * </ul>
 *
 * <p><b>Ownership.</b> The instances with webhooks enabled form one consumer group ({@code
 * ingest.webhook.group}) over render.status: each status partition, and every delivery of the
 * renders in it, belongs to one member at a time. The owner turns each state change into a pending
 * delivery, kept in the compacted topic {@code topic.webhooks} (key requestId, the same partition
 * number as the status record) together with its retry schedule (attempts, next attempt time), and
 * commits its render.status offsets only after those records are acknowledged. A new owner (after a
 * restart, a crash or a rebalance) reads the partition's entries back and goes on with the same
 * schedule, and re-reads the state changes after the last committed offset (an entry remembers the
 * last state and version it has queued, so a state is never queued twice).
 *
 * <p><b>Guarantee.</b> Every state change is delivered at least once or dead-lettered (a group's
 * first start begins with the retry window before it started, not the whole topic). A graceful
 * hand-over (a clean shutdown, an instance joining) waits for the attempts in flight and records
 * their outcome first, so no delivery is sent by two instances. An owner that dies loses its
 * partitions after the session timeout ({@value #SESSION_TIMEOUT_MS} ms without heartbeats); only
 * an attempt it had in flight (or whose outcome it had not yet written) is sent again by the next
 * owner, with the same delivery id, body and attempt number.
 *
 * <p><b>Lease.</b> An owner acts (sends an attempt, writes an entry, dead-letters) only within half
 * the session timeout of its last confirmed membership: an accepted offset commit (every {@value
 * #COMMIT_EVERY_MS} ms) or an assignment. One frozen for longer (a stopped process, a long pause)
 * would otherwise wake with retries overdue for partitions the group has already moved, and send
 * them beside the new owner and write stale entries over its own; instead it parks them, proves its
 * membership with a commit that moves no offset, and hands the partitions over when the group
 * refuses it. Only a request already on its way when the owner froze can reach the receiver twice.
 *
 * <p><b>Retries and dead letters.</b> A delivery without a 2xx answer (3xx included: redirects are
 * not followed) is retried with exponential backoff (initial delay doubling up to the maximum)
 * until {@code ingest.webhook.retry-for} after the state change; then it goes to render.dlq with
 * reason {@code WEBHOOK_RETRIES_EXHAUSTED}. A callback URL the SSRF rules refuse at connect time
 * (the resolved address checked, {@link CheckedHttpClient}) is dead-lettered at once with reason
 * {@code CALLBACK_REFUSED}. Entries whose render is final and has nothing pending are tombstoned.
 */
final class WebhookDispatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookDispatcher.class);
  static final String SIGNATURE = "X-ReelFlow-Signature";
  static final String DELIVERY = "X-ReelFlow-Delivery";
  static final String EVENT = "X-ReelFlow-Event";
  static final String ATTEMPT = "X-ReelFlow-Delivery-Attempt";
  static final String RETRIES_EXHAUSTED = "WEBHOOK_RETRIES_EXHAUSTED";
  static final String REFUSED = "CALLBACK_REFUSED";
  private static final Set<RenderState> FINAL =
      EnumSet.of(
          RenderState.SUCCEEDED, RenderState.FAILED, RenderState.CANCELLED, RenderState.EXPIRED);
  private static final MediaType JSON_TYPE = MediaType.get("application/json");
  private static final long COMMIT_EVERY_MS = 500;

  /** A crashed or frozen owner's partitions move to another member after this long. */
  static final int SESSION_TIMEOUT_MS = 10_000;

  private static final int HEARTBEAT_INTERVAL_MS = 2_000;

  /**
   * How long a confirmation of this instance's membership (an accepted offset commit, an
   * assignment) lets it send and record deliveries: half the session timeout, so that an owner
   * frozen for longer than this (a stopped process, a long pause) sends and writes nothing after
   * waking until it has confirmed again, and by then a group that moved its partitions has told it
   * so.
   */
  private static final long LEASE_NS = TimeUnit.MILLISECONDS.toNanos(SESSION_TIMEOUT_MS / 2);

  private final IngestConfig config;
  private final ApiKeys keys;
  private final RenderJson renderJson;
  private final ObjectMapper json;
  private final IngestMetrics metrics;
  private final Deserializer<RenderStatus> statuses;
  private final Serializer<Object> avro;
  private final AddressPolicy policy;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration retryFor;
  private final Duration timeout;
  private final int capacity;
  private final String statusTopic;
  private final String webhooksTopic;
  private final String dlqTopic;
  private final long startedAt = System.currentTimeMillis();
  private final AtomicInteger pending = new AtomicInteger();
  private final Map<Integer, Owned> owned = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private final OkHttpClient http;
  private final KafkaProducer<String, byte[]> producer;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile KafkaConsumer<String, byte[]> consumer;
  // System.nanoTime() until which this instance may act as the owner of what it owns
  private volatile long leaseUntil = System.nanoTime();
  private long pollStartedAt = System.nanoTime(); // consumer thread only
  // attempts that waited for the lease, started again when it is renewed
  private final java.util.Queue<Runnable> parked =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  /** One render's webhook state: what was queued last and what is still to deliver. */
  private static final class Entry {
    final String tenant;
    final String url;
    String lastState;
    long lastVersion = -1;
    long finalOffset = -1;
    final List<Delivery> pending = new ArrayList<>();

    Entry(String tenant, String url) {
      this.tenant = tenant;
      this.url = url;
    }
  }

  /** One delivery and its retry schedule. */
  private static final class Delivery {
    final String id;
    final String body;
    final long createdAt;
    int attempts;
    long nextAt;
    boolean inFlight;

    Delivery(String id, String body, long createdAt, int attempts, long nextAt) {
      this.id = id;
      this.body = body;
      this.createdAt = createdAt;
      this.attempts = attempts;
      this.nextAt = nextAt;
    }
  }

  /** A render.status partition this instance owns, with its renders' entries. */
  private static final class Owned {
    final int partition;
    final Map<String, Entry> entries = new HashMap<>();
    // entries changed while the lease had lapsed, written once it is confirmed again
    final Set<String> dirty = new java.util.HashSet<>();
    int inFlight;
    boolean revoked;
    boolean handingOver; // revoked in a graceful hand-over: outcomes in flight are still recorded
    long committed = -1; // the render.status offset this instance last committed

    Owned(int partition) {
      this.partition = partition;
    }
  }

  WebhookDispatcher(
      IngestConfig config,
      ApiKeys keys,
      RenderJson renderJson,
      ObjectMapper json,
      IngestMetrics metrics,
      Deserializer<RenderStatus> statuses,
      Serializer<Object> avro,
      AddressPolicy policy,
      CheckedHttpClient.Resolver resolver) {
    this.config = config;
    this.keys = keys;
    this.renderJson = renderJson;
    this.json = json;
    this.metrics = metrics;
    this.statuses = statuses;
    this.avro = avro;
    this.policy = policy;
    this.initialBackoff = config.duration(IngestConfig.WEBHOOK_INITIAL_BACKOFF);
    this.maxBackoff = config.duration(IngestConfig.WEBHOOK_MAX_BACKOFF);
    this.retryFor = config.duration(IngestConfig.WEBHOOK_RETRY_FOR);
    this.timeout = config.duration(IngestConfig.WEBHOOK_TIMEOUT);
    this.capacity = config.intValue(IngestConfig.WEBHOOK_QUEUE_CAPACITY);
    this.statusTopic = config.get(IngestConfig.TOPIC_STATUS);
    this.webhooksTopic = config.get(IngestConfig.TOPIC_WEBHOOKS);
    this.dlqTopic = config.get(IngestConfig.TOPIC_DLQ);
    this.timer =
        Executors.newScheduledThreadPool(
            1,
            r -> {
              Thread t = new Thread(r, "reelflow-webhooks-timer");
              t.setDaemon(true);
              return t;
            });
    this.http =
        CheckedHttpClient.builder(policy, resolver)
            .connectionPool(new ConnectionPool(8, 1, TimeUnit.MINUTES))
            .connectTimeout(timeout)
            .readTimeout(timeout)
            .callTimeout(timeout)
            // the last check before the request leaves: an owner frozen since its attempt started
            // must not send it on waking before it knows it still owns the delivery
            .addNetworkInterceptor(
                chain -> {
                  if (!leased()) {
                    throw new LeaseLapsedException();
                  }
                  return chain.proceed(chain.request());
                })
            .build();
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 2);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, config.instanceId() + "-webhooks");
    this.producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    this.thread = new Thread(this::run, "reelflow-webhooks");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Deliveries this instance holds that are not yet delivered nor given up. */
  int pending() {
    return pending.get();
  }

  /** Partitions of render.status whose deliveries this instance owns now. */
  Set<Integer> ownedPartitions() {
    return Set.copyOf(owned.keySet());
  }

  // ---------------------------------------------------------------- the consumer thread

  private void run() {
    Rebalance rebalance = null;
    try {
      if (!ensureTopic()) {
        return;
      }
      Properties p = new Properties();
      p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
      p.put(ConsumerConfig.GROUP_ID_CONFIG, config.get(IngestConfig.WEBHOOK_GROUP));
      p.put(ConsumerConfig.CLIENT_ID_CONFIG, config.instanceId() + "-webhooks");
      p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      p.put(
          ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
          CooperativeStickyAssignor.class.getName());
      // A crashed owner's partitions move after this long.
      p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SESSION_TIMEOUT_MS);
      p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, HEARTBEAT_INTERVAL_MS);
      p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
      try (KafkaConsumer<String, byte[]> c =
          new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
        consumer = c;
        rebalance = new Rebalance(c);
        c.subscribe(List.of(statusTopic), rebalance);
        long lastCommit = System.currentTimeMillis();
        while (running) {
          try {
            pollStartedAt = System.nanoTime();
            for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
              queue(r);
            }
          } catch (WakeupException e) {
            break;
          }
          // Back-pressure: new state changes wait in render.status, nothing is dropped.
          if (pending.get() >= capacity) {
            c.pause(c.assignment());
          } else if (!c.paused().isEmpty()) {
            c.resume(c.paused());
          }
          if (System.currentTimeMillis() - lastCommit >= COMMIT_EVERY_MS) {
            if (confirm(c) && commit(c, c.assignment())) {
              owned.values().forEach(this::tombstone);
            }
            lastCommit = System.currentTimeMillis();
          }
        }
      }
    } catch (Exception e) {
      if (running) {
        LOG.error(
            "The webhook dispatcher stopped: pending deliveries wait for another instance", e);
      }
    } finally {
      consumer = null;
      if (rebalance != null) {
        rebalance.close();
      }
    }
  }

  /**
   * Creates the delivery topic (compacted, as many partitions as render.status) if missing, and
   * checks that its partitions match render.status one to one.
   */
  private boolean ensureTopic() throws InterruptedException {
    Properties a = new Properties();
    a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
    try (Admin admin = Admin.create(a)) {
      while (running) {
        try {
          int n =
              admin
                  .describeTopics(List.of(statusTopic))
                  .allTopicNames()
                  .get(10, TimeUnit.SECONDS)
                  .get(statusTopic)
                  .partitions()
                  .size();
          try {
            admin
                .createTopics(
                    List.of(
                        new NewTopic(webhooksTopic, Optional.of(n), Optional.empty())
                            .configs(Map.of("cleanup.policy", "compact"))))
                .all()
                .get(10, TimeUnit.SECONDS);
            LOG.info("Created compacted topic {} with {} partitions", webhooksTopic, n);
          } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
              throw e;
            }
          }
          int m =
              admin
                  .describeTopics(List.of(webhooksTopic))
                  .allTopicNames()
                  .get(10, TimeUnit.SECONDS)
                  .get(webhooksTopic)
                  .partitions()
                  .size();
          if (m != n) {
            LOG.error(
                "{} has {} partitions but {} has {}: they must match one to one; webhooks are not"
                    + " delivered by this instance",
                webhooksTopic,
                m,
                statusTopic,
                n);
            return false;
          }
          return true;
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
          LOG.warn("Webhooks wait for Kafka ({}): {}", statusTopic, e.toString());
          Thread.sleep(1000);
        }
      }
    }
    return false;
  }

  /** Turns a status record into a pending delivery when its state is new for the render. */
  private void queue(ConsumerRecord<String, byte[]> r) {
    Owned o = owned.get(r.partition());
    if (o == null || r.value() == null || r.key() == null) {
      return;
    }
    RenderStatus s;
    try {
      s = statuses.deserialize(r.topic(), r.value());
    } catch (RuntimeException e) {
      LOG.warn(
          "Webhooks skip an unreadable status at {}-{}@{}: {}",
          r.topic(),
          r.partition(),
          r.offset(),
          e.toString());
      return;
    }
    if (s.getCallbackUrl() == null || s.getVersion() < 0) {
      return;
    }
    long now = System.currentTimeMillis();
    long createdAt = r.timestamp() > 0 ? r.timestamp() : now;
    if (o.committed < 0 && createdAt < startedAt - retryFor.toMillis()) {
      // A group without committed offsets (its first start) begins with the state changes of
      // the retry window before it started, not with the whole history of render.status.
      return;
    }
    String state = s.getState().name();
    String deliveryId = s.getRequestId() + "." + state + "." + s.getAttempts();
    ObjectNode body = json.createObjectNode();
    body.put("event", "render.status");
    body.put("deliveryId", deliveryId);
    body.set("render", renderJson.status(s));
    String text;
    try {
      text = json.writeValueAsString(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    synchronized (o) {
      Entry e = o.entries.get(r.key());
      if (e != null && (s.getVersion() <= e.lastVersion || state.equals(e.lastState))) {
        return;
      }
      if (e == null) {
        e = new Entry(s.getTenant(), s.getCallbackUrl());
        o.entries.put(r.key(), e);
      }
      e.lastState = state;
      e.lastVersion = s.getVersion();
      if (FINAL.contains(s.getState())) {
        e.finalOffset = r.offset();
      }
      Delivery d = new Delivery(deliveryId, text, createdAt, 0, now);
      e.pending.add(d);
      pending.incrementAndGet();
      record(o, r.key(), e);
      schedule(o, r.key(), d);
    }
  }

  /**
   * Commits the consumer's positions in the given partitions, once the entries of the records
   * before them are written (every record a poll returned was queued at once), and renews the
   * lease. False when the commit failed (then they are read again).
   */
  private boolean commit(KafkaConsumer<String, byte[]> c, Collection<TopicPartition> partitions) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    try {
      for (TopicPartition tp : partitions) {
        offsets.put(tp, new OffsetAndMetadata(c.position(tp, Duration.ofSeconds(5))));
      }
    } catch (RuntimeException e) {
      LOG.debug("No webhook commit this time: {}", e.toString());
      return false;
    }
    if (offsets.isEmpty()) {
      return false;
    }
    producer.flush();
    long sentAt = System.nanoTime();
    try {
      c.commitSync(offsets);
    } catch (RuntimeException e) {
      LOG.warn("Committing the webhook offsets failed (they are read again): {}", e.toString());
      return false;
    }
    renew(sentAt);
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
      Owned o = owned.get(e.getKey().partition());
      if (o != null) {
        synchronized (o) {
          o.committed = e.getValue().offset();
        }
      }
    }
    return true;
  }

  /**
   * After a stall longer than the lease (a frozen process, a long pause), proves that this instance
   * is still a member of the group before it writes or sends anything: a commit that moves no
   * offset, which the group refuses from a member it has dropped (the next poll then hands the
   * partitions over). True when the lease holds or was renewed.
   */
  private boolean confirm(KafkaConsumer<String, byte[]> c) {
    if (leased() || owned.isEmpty()) {
      return true;
    }
    Map<TopicPartition, OffsetAndMetadata> same = new HashMap<>();
    for (Owned o : owned.values()) {
      synchronized (o) {
        // nothing committed yet: the start of the partition, which skips nothing
        same.put(
            new TopicPartition(statusTopic, o.partition),
            new OffsetAndMetadata(Math.max(0, o.committed)));
      }
    }
    long sentAt = System.nanoTime();
    try {
      c.commitSync(same);
    } catch (RuntimeException e) {
      LOG.warn(
          "{} could not confirm that it still owns its webhooks after a stall ({}): it sends"
              + " nothing until the group has answered",
          config.instanceId(),
          e.toString());
      return false;
    }
    renew(sentAt);
    return true;
  }

  private boolean leased() {
    return System.nanoTime() - leaseUntil < 0;
  }

  /**
   * Membership was confirmed at {@code at}: extends the lease and writes what changed while it had
   * lapsed.
   */
  private void renew(long at) {
    leaseUntil = at + LEASE_NS;
    renewParked();
    for (Owned o : owned.values()) {
      synchronized (o) {
        for (String key : o.dirty) {
          Entry e = o.entries.get(key);
          if (e != null) {
            write(o, key, e);
          }
        }
        o.dirty.clear();
      }
    }
  }

  /**
   * Tombstones the entries of renders that are final with nothing pending, once their final status
   * is behind the committed offset (it is never read again, so it cannot be queued again).
   */
  private void tombstone(Owned o) {
    synchronized (o) {
      Iterator<Map.Entry<String, Entry>> it = o.entries.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<String, Entry> x = it.next();
        Entry en = x.getValue();
        if (en.pending.isEmpty() && en.finalOffset >= 0 && en.finalOffset < o.committed) {
          producer.send(new ProducerRecord<>(webhooksTopic, o.partition, x.getKey(), null));
          it.remove();
        }
      }
    }
  }

  /** Hands partitions over: waits for their attempts in flight, writes, commits. */
  private final class Rebalance implements ConsumerRebalanceListener {
    private final KafkaConsumer<String, byte[]> c;
    private KafkaConsumer<String, byte[]> loader;

    Rebalance(KafkaConsumer<String, byte[]> c) {
      this.c = c;
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (partitions.isEmpty()) {
        return;
      }
      // The group has just answered this poll with an assignment: membership is confirmed.
      renew(pollStartedAt);
      for (TopicPartition tp : partitions) {
        Owned o = load(tp.partition());
        OffsetAndMetadata committed = c.committed(Set.of(tp)).get(tp);
        o.committed = committed == null ? -1 : committed.offset();
        owned.put(tp.partition(), o);
        synchronized (o) {
          for (Map.Entry<String, Entry> e : o.entries.entrySet()) {
            for (Delivery d : e.getValue().pending) {
              pending.incrementAndGet();
              schedule(o, e.getKey(), d);
            }
          }
        }
      }
      LOG.info(
          "Webhooks of {} partitions {} now delivered by {}",
          statusTopic,
          partitions.stream().map(TopicPartition::partition).sorted().toList(),
          config.instanceId());
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      release(partitions, true);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      release(partitions, false);
    }

    private void release(Collection<TopicPartition> partitions, boolean graceful) {
      List<Integer> ids = new ArrayList<>();
      long waitUntil = System.nanoTime() + timeout.plusSeconds(2).toNanos();
      for (TopicPartition tp : partitions) {
        Owned o = owned.get(tp.partition());
        if (o == null) {
          continue;
        }
        ids.add(tp.partition());
        synchronized (o) {
          o.revoked = true;
          o.handingOver = graceful;
          // Let the attempts in flight finish and record their outcome, so that the next owner
          // does not send them again.
          while (graceful && o.inFlight > 0 && System.nanoTime() < waitUntil) {
            try {
              o.wait(100);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              break;
            }
          }
          if (graceful) {
            // the group is asking for the partition: this instance is still its owner
            for (String key : o.dirty) {
              Entry e = o.entries.get(key);
              if (e != null) {
                write(o, key, e);
              }
            }
          }
          o.dirty.clear();
        }
      }
      if (graceful) {
        commit(c, partitions);
      }
      producer.flush();
      for (int id : ids) {
        Owned o = owned.remove(id);
        if (o != null) {
          synchronized (o) {
            for (Entry e : o.entries.values()) {
              pending.addAndGet(-e.pending.size());
            }
            o.handingOver = false;
          }
        }
      }
      if (!ids.isEmpty()) {
        LOG.info(
            "Webhooks of {} partitions {} handed over by {}",
            statusTopic,
            ids,
            config.instanceId());
      }
    }

    /** Reads a partition's entries back from the delivery topic. */
    private Owned load(int partition) {
      if (loader == null) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, config.instanceId() + "-webhooks-loader");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        loader = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
      }
      Owned o = new Owned(partition);
      TopicPartition tp = new TopicPartition(webhooksTopic, partition);
      loader.assign(List.of(tp));
      loader.seekToBeginning(List.of(tp));
      long end = loader.endOffsets(List.of(tp)).get(tp);
      while (loader.position(tp) < end) {
        for (ConsumerRecord<String, byte[]> r : loader.poll(Duration.ofMillis(200))) {
          if (r.key() == null) {
            continue;
          }
          if (r.value() == null) {
            o.entries.remove(r.key());
          } else {
            try {
              o.entries.put(r.key(), decode(r.value()));
            } catch (IOException | RuntimeException e) {
              LOG.warn("Skipping an unreadable webhook entry {}: {}", r.key(), e.toString());
            }
          }
        }
      }
      return o;
    }

    void close() {
      if (loader != null) {
        loader.close();
      }
    }
  }

  // ---------------------------------------------------------------- attempts

  private void schedule(Owned o, String key, Delivery d) {
    long delay = Math.max(0, d.nextAt - System.currentTimeMillis());
    try {
      timer.schedule(() -> attempt(o, key, d.id), delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closed) {
      // shutting down: the entry stays in the topic for the next owner
    }
  }

  private void attempt(Owned o, String key, String deliveryId) {
    Entry e;
    Delivery d;
    synchronized (o) {
      if (o.revoked || owned.get(o.partition) != o || !running) {
        return;
      }
      e = o.entries.get(key);
      d = e == null ? null : find(e, deliveryId);
      if (d == null || d.inFlight) {
        return;
      }
      if (!leased()) {
        defer(o, key, deliveryId);
        return;
      }
      d.inFlight = true;
      o.inFlight++;
    }
    URI uri;
    Optional<String> refused;
    try {
      uri = URI.create(e.url);
      refused = policy.checkUrl(uri);
    } catch (IllegalArgumentException bad) {
      uri = null;
      refused = Optional.of("is not a usable URL");
    }
    if (refused.isPresent()) {
      finish(o, key, d, -1, null, "callbackUrl " + refused.get());
      return;
    }
    byte[] bytes = d.body.getBytes(StandardCharsets.UTF_8);
    Request.Builder rb =
        new Request.Builder()
            .url(uri.toString())
            .header("User-Agent", "ReelFlow-Webhooks/1")
            .header(DELIVERY, d.id)
            .header(EVENT, "render.status")
            .header(ATTEMPT, Integer.toString(d.attempts + 1))
            .post(RequestBody.create(bytes, JSON_TYPE));
    String secret = keys.tenant(e.tenant).map(Tenant::webhookSecret).orElse("");
    if (!secret.isEmpty()) {
      rb.header(SIGNATURE, "sha256=" + sign(secret, bytes));
    } else {
      LOG.warn("Tenant {} has no webhook secret: delivery {} is unsigned", e.tenant, d.id);
    }
    Request req;
    try {
      req = rb.build();
    } catch (IllegalArgumentException bad) {
      finish(o, key, d, -1, null, "callbackUrl is not a usable URL");
      return;
    }
    http.newCall(req)
        .enqueue(
            new Callback() {
              @Override
              public void onResponse(Call call, Response response) {
                int code = response.code();
                response.close();
                finish(o, key, d, code, null, null);
              }

              @Override
              public void onFailure(Call call, IOException err) {
                String refusal =
                    CheckedHttpClient.forbidden(err)
                        .map(f -> "callbackUrl " + f.getMessage())
                        .orElse(null);
                finish(o, key, d, -1, err, refusal);
              }
            });
  }

  /** Records an attempt's outcome: delivered, retried later, or dead-lettered. */
  private void finish(Owned o, String key, Delivery d, int code, Throwable err, String refusal) {
    synchronized (o) {
      d.inFlight = false;
      o.inFlight--;
      o.notifyAll();
      Entry e = o.entries.get(key);
      if (e == null || !e.pending.contains(d)) {
        return;
      }
      if (err instanceof LeaseLapsedException) {
        // never sent: not an attempt
        defer(o, key, d.id);
        return;
      }
      int n = d.attempts + 1;
      long now = System.currentTimeMillis();
      if (code / 100 == 2) {
        e.pending.remove(d);
        pending.decrementAndGet();
        metrics.webhook("delivered");
        record(o, key, e);
        return;
      }
      String why = refusal != null ? refusal : err != null ? err.toString() : "HTTP " + code;
      Duration delay = backoff(initialBackoff, maxBackoff, n);
      boolean giveUp =
          refusal != null || now + delay.toMillis() - d.createdAt > retryFor.toMillis();
      // Only a confirmed owner dead-letters: a frozen one retries (and is then stopped by the
      // lease), so the delivery's next owner decides.
      if (giveUp && mayWrite(o)) {
        e.pending.remove(d);
        pending.decrementAndGet();
        metrics.webhook(refusal != null ? "refused" : "gave_up");
        String code0 = refusal != null ? REFUSED : RETRIES_EXHAUSTED;
        LOG.warn("Dead-lettering webhook {} after {} attempts: {}", d.id, n, why);
        deadLetter(o, key, e, d, code0, why + " (after " + n + " attempts)");
        record(o, key, e);
        return;
      }
      d.attempts = n;
      d.nextAt = now + delay.toMillis();
      metrics.webhook("retried");
      LOG.debug("Webhook {} attempt {} failed ({}); retry in {}", d.id, n, why, delay);
      record(o, key, e);
      if (!o.revoked && owned.get(o.partition) == o) {
        schedule(o, key, d);
      }
    }
  }

  private void deadLetter(Owned o, String key, Entry e, Delivery d, String code, String message) {
    DeadLetter letter =
        DeadLetters.builder()
            .sourceTopic(webhooksTopic)
            .partition(o.partition)
            .key(key)
            .value(d.body.getBytes(StandardCharsets.UTF_8))
            .reason(code, "delivery " + d.id + " to " + e.url + ": " + message)
            .component("ingest")
            .requestId(key)
            .at(Instant.now())
            .build();
    try {
      producer.send(
          new ProducerRecord<>(
              dlqTopic, null, key, avro.serialize(dlqTopic, letter), DeadLetters.headers(letter)),
          (md, ex) -> {
            if (ex != null) {
              LOG.error("Dead-lettering webhook {} failed: {}", d.id, ex.toString());
            } else {
              metrics.webhook("dead_lettered");
            }
          });
    } catch (RuntimeException ex) {
      LOG.error("Dead-lettering webhook {} failed: {}", d.id, ex.toString());
    }
  }

  /** Tries the delivery again once this instance has confirmed that it owns it. */
  private void defer(Owned o, String key, String deliveryId) {
    parked.add(() -> attempt(o, key, deliveryId));
    if (leased()) { // renewed meanwhile
      renewParked();
    }
  }

  private void renewParked() {
    for (Runnable r; (r = parked.poll()) != null; ) {
      try {
        timer.execute(r);
      } catch (RejectedExecutionException closed) {
        parked.clear();
      }
    }
  }

  /**
   * Whether this instance may write {@code o}'s entries now: it still owns the partition and either
   * hands it over gracefully (recording the outcomes in flight) or holds the lease.
   */
  private boolean mayWrite(Owned o) {
    return owned.get(o.partition) == o && (o.handingOver || (!o.revoked && leased()));
  }

  /**
   * Writes an entry's new state, or, while the lease has lapsed, keeps it for the next
   * confirmation; a partition this instance no longer owns is never written (its next owner has
   * read the entries back and writes its own).
   */
  private void record(Owned o, String key, Entry e) {
    if (mayWrite(o)) {
      write(o, key, e);
    } else if (owned.get(o.partition) == o && !o.revoked) {
      o.dirty.add(key);
    }
  }

  /** A delivery not sent because the lease had lapsed when its request was about to leave. */
  private static final class LeaseLapsedException extends java.io.InterruptedIOException {
    LeaseLapsedException() {
      super("the webhook owner's lease lapsed before the request was sent");
    }
  }

  private static Delivery find(Entry e, String id) {
    for (Delivery d : e.pending) {
      if (d.id.equals(id)) {
        return d;
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- the entry records

  private void write(Owned o, String key, Entry e) {
    producer.send(
        new ProducerRecord<>(webhooksTopic, o.partition, key, encode(e)),
        (md, ex) -> {
          if (ex != null) {
            LOG.error("Writing the webhook entry of {} failed: {}", key, ex.toString());
          }
        });
  }

  private byte[] encode(Entry e) {
    ObjectNode n = json.createObjectNode();
    n.put("tenant", e.tenant);
    n.put("url", e.url);
    n.put("lastState", e.lastState);
    n.put("lastVersion", e.lastVersion);
    n.put("finalOffset", e.finalOffset);
    ArrayNode a = n.putArray("pending");
    for (Delivery d : e.pending) {
      a.addObject()
          .put("id", d.id)
          .put("body", d.body)
          .put("createdAt", d.createdAt)
          .put("attempts", d.attempts)
          .put("nextAt", d.nextAt);
    }
    try {
      return json.writeValueAsBytes(n);
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
  }

  private Entry decode(byte[] bytes) throws IOException {
    JsonNode n = json.readTree(bytes);
    Entry e = new Entry(n.path("tenant").asText(), n.path("url").asText());
    e.lastState = n.path("lastState").asText(null);
    e.lastVersion = n.path("lastVersion").asLong(-1);
    e.finalOffset = n.path("finalOffset").asLong(-1);
    for (JsonNode d : n.path("pending")) {
      e.pending.add(
          new Delivery(
              d.path("id").asText(),
              d.path("body").asText(),
              d.path("createdAt").asLong(),
              d.path("attempts").asInt(),
              d.path("nextAt").asLong()));
    }
    return e;
  }

  // ---------------------------------------------------------------- helpers

  /** initial * 2^(attempt-1), capped at the maximum. */
  static Duration backoff(Duration initial, Duration max, int attempt) {
    long ms = initial.toMillis();
    for (int i = 1; i < attempt && ms < max.toMillis(); i++) {
      ms *= 2;
    }
    return Duration.ofMillis(Math.min(ms, max.toMillis()));
  }

  static String sign(String secret, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(body));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
    }
  }

  /** Hands this instance's partitions over (waiting for attempts in flight) and stops. */
  @Override
  public void close() {
    running = false;
    KafkaConsumer<String, byte[]> c = consumer;
    if (c != null) {
      c.wakeup();
    }
    try {
      thread.join(timeout.plusSeconds(30).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    timer.shutdownNow();
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
    producer.close(Duration.ofSeconds(5));
  }
}
