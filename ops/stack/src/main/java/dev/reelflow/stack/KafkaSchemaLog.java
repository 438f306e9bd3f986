package dev.reelflow.stack;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's storage: a single-partition compacted Kafka topic of {@link RegistryCommand}s,
 * replayed into a {@link SchemaRegistryState} by one reader thread.
 *
 * <p>A write appends its command under a unique key, then waits until the reader thread has applied
 * that very record; the result (or error) of applying it is the answer. Because every instance
 * applies the same log in the same order, two instances that accept registrations at the same time
 * still agree on every id, and a restarted instance rebuilds exactly the same ids. Keys are unique,
 * so compaction never drops a command that an id depends on.
 */
final class KafkaSchemaLog implements SchemaLog, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaSchemaLog.class);
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private final String topic;
  private final TopicPartition partition;
  private final Duration timeout;
  private final SchemaRegistryState state;
  private final Admin admin;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<String, CompletableFuture<Object>> pending = new ConcurrentHashMap<>();
  private final Object progress = new Object();
  private final Thread reader;
  private volatile long appliedUpTo; // next offset to apply
  private volatile boolean running = true;
  private volatile Exception readerFailure;
  private volatile boolean readerStarted;

  KafkaSchemaLog(
      String bootstrapServers,
      String topic,
      Duration timeout,
      SchemaRegistryState state,
      String instanceName) {
    this.topic = topic;
    this.partition = new TopicPartition(topic, 0);
    this.timeout = timeout;
    this.state = state;
    String clientId = "reelflow-registry-" + instanceName;
    this.admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                AdminClientConfig.CLIENT_ID_CONFIG,
                clientId + "-admin",
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                (int) timeout.toMillis(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                (int) timeout.toMillis()));
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId + "-producer");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(timeout.toMillis()));
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(timeout.toMillis()));
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(timeout.toMillis()));
    this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId + "-reader");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    this.consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.reader = new Thread(this::readLoop, clientId + "-reader");
    this.reader.setDaemon(true);
  }

  /** Creates the topic when missing, then replays it completely before returning. */
  void start() throws RegistryException {
    createTopicIfMissing();
    consumer.assign(List.of(partition));
    consumer.seekToBeginning(List.of(partition));
    reader.start();
    readerStarted = true;
    awaitCaughtUp();
    LOG.debug("Replayed {} records of {}", appliedUpTo, topic);
  }

  /** Appends a command and returns the result of applying it, as every instance will. */
  @Override
  public Object submit(RegistryCommand command) throws RegistryException {
    String uuid = UUID.randomUUID().toString();
    CompletableFuture<Object> result = new CompletableFuture<>();
    pending.put(uuid, result);
    try {
      byte[] key = JSON.writeValueAsBytes(Map.of("keytype", "COMMAND", "uuid", uuid));
      byte[] value = JSON.writeValueAsBytes(command);
      producer
          .send(new ProducerRecord<>(topic, 0, key, value))
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RegistryException r) {
        throw r;
      }
      throw RegistryException.storeError("could not write to " + topic + ": " + e.getCause());
    } catch (TimeoutException e) {
      throw RegistryException.timeout("no acknowledgement from the " + topic + " topic in time");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw RegistryException.storeError("interrupted");
    } catch (java.io.IOException e) {
      throw RegistryException.storeError(e.toString());
    } finally {
      pending.remove(uuid);
    }
  }

  /** Waits until everything in the topic right now has been applied (read-your-peers'-writes). */
  @Override
  public void awaitCaughtUp() throws RegistryException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long end = endOffset(deadline);
    synchronized (progress) {
      while (appliedUpTo < end) {
        if (readerFailure != null) {
          throw RegistryException.storeError(
              "the reader of " + topic + " failed: " + readerFailure);
        }
        long waitMs = (deadline - System.nanoTime()) / 1_000_000;
        if (waitMs <= 0) {
          throw RegistryException.timeout("reading " + topic + " up to offset " + end);
        }
        try {
          progress.wait(Math.min(waitMs, 100));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw RegistryException.storeError("interrupted");
        }
      }
    }
  }

  /** The log end offset; retries while a just-created topic's metadata is still propagating. */
  private long endOffset(long deadline) throws RegistryException {
    while (true) {
      try {
        return admin
            .listOffsets(Map.of(partition, OffsetSpec.latest()))
            .partitionResult(partition)
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .offset();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RetriableException) || System.nanoTime() > deadline) {
          throw RegistryException.storeError(
              "could not read the end of " + topic + ": " + e.getCause());
        }
      } catch (TimeoutException e) {
        throw RegistryException.timeout("reading the end offset of " + topic);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw RegistryException.storeError("interrupted");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw RegistryException.storeError("interrupted");
      }
    }
  }

  private void readLoop() {
    try {
      while (running) {
        try {
          for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
            applyRecord(record);
          }
          long position = consumer.position(partition, Duration.ofSeconds(5));
          synchronized (progress) {
            appliedUpTo = position;
            progress.notifyAll();
          }
        } catch (WakeupException e) {
          throw e;
        } catch (RetriableException e) {
          // The broker is down or restarting: keep the state we have and try again.
          LOG.debug("Registry reader of {} waiting for the broker: {}", topic, e.toString());
        }
      }
    } catch (WakeupException e) {
      if (running) {
        readerFailure = e;
      }
    } catch (RuntimeException e) {
      readerFailure = e;
      LOG.error("Registry reader of {} stopped", topic, e);
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  private void applyRecord(ConsumerRecord<byte[], byte[]> record) {
    if (record.value() == null || record.key() == null) {
      return; // tombstone
    }
    String uuid = null;
    Object result;
    RegistryException error = null;
    try {
      Map<?, ?> key = JSON.readValue(record.key(), Map.class);
      uuid = key.get("uuid") instanceof String s ? s : null;
      RegistryCommand command = JSON.readValue(record.value(), RegistryCommand.class);
      synchronized (state) {
        result = state.apply(command);
      }
    } catch (RegistryException e) {
      result = null;
      error = e;
    } catch (java.io.IOException | RuntimeException e) {
      // Not ours (another tool wrote to the topic): skip it, every instance skips it alike.
      LOG.warn(
          "Skipping unreadable record at {}-{}@{}: {}",
          record.topic(),
          record.partition(),
          record.offset(),
          new String(record.key(), StandardCharsets.UTF_8));
      return;
    }
    CompletableFuture<Object> waiter = uuid == null ? null : pending.get(uuid);
    if (waiter != null) {
      if (error != null) {
        waiter.completeExceptionally(error);
      } else {
        waiter.complete(result);
      }
    }
  }

  private void createTopicIfMissing() throws RegistryException {
    try {
      if (admin
          .listTopics()
          .names()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .contains(topic)) {
        return;
      }
      int brokers =
          admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS).size();
      NewTopic newTopic =
          new NewTopic(topic, 1, (short) Math.min(3, brokers))
              .configs(Map.of("cleanup.policy", "compact"));
      admin.createTopics(List.of(newTopic)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      LOG.info("Created registry topic {}", topic);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw RegistryException.storeError("could not create topic " + topic + ": " + e.getCause());
      }
    } catch (TimeoutException e) {
      throw RegistryException.timeout("Kafka did not answer while creating " + topic);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw RegistryException.storeError("interrupted");
    }
  }

  @Override
  public void close() {
    running = false;
    if (readerStarted) {
      consumer.wakeup();
      try {
        reader.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } else {
      consumer.close(Duration.ofSeconds(2));
    }
    producer.close(Duration.ofSeconds(2));
    admin.close(Duration.ofSeconds(2));
    pending
        .values()
        .forEach(f -> f.completeExceptionally(RegistryException.storeError("registry stopped")));
  }
}
