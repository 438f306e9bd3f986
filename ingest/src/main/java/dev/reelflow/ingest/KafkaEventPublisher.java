package dev.reelflow.ingest;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes with idempotent producers ({@code enable.idempotence=true}, {@code acks=all}): one
 * shared producer for single records, and a small pool of transactional producers for batches, each
 * batch in one transaction. {@code max.block.ms} and {@code delivery.timeout.ms} bound how long a
 * request waits for an unreachable cluster before it answers 503.
 */
final class KafkaEventPublisher implements EventPublisher {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaEventPublisher.class);

  private final Properties base;
  private final Serializer<Object> values;
  private final Producer<String, Object> single;
  private final BlockingQueue<TxProducer> pool;
  private final long maxBlockMs;
  private final long deliveryTimeoutMs;
  private final Admin admin;

  /** A transactional producer that is initialised on first use (the cluster may be down now). */
  private final class TxProducer {
    final String transactionalId;
    Producer<String, Object> producer;

    TxProducer(String id) {
      this.transactionalId = id;
    }

    Producer<String, Object> get() {
      if (producer == null) {
        Properties p = new Properties();
        p.putAll(base);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 120_000);
        Producer<String, Object> created = newProducer(p);
        try {
          created.initTransactions();
        } catch (RuntimeException e) {
          created.close(Duration.ZERO);
          throw e;
        }
        producer = created;
      }
      return producer;
    }

    void discard() {
      if (producer != null) {
        try {
          producer.close(Duration.ofSeconds(1));
        } catch (RuntimeException e) {
          LOG.warn("Closing transactional producer {} failed: {}", transactionalId, e.toString());
        }
        producer = null;
      }
    }
  }

  KafkaEventPublisher(IngestConfig config, Serializer<Object> avroValues) {
    this.values = avroValues;
    this.maxBlockMs = config.longValue(IngestConfig.MAX_BLOCK_MS);
    this.deliveryTimeoutMs = config.longValue(IngestConfig.DELIVERY_TIMEOUT_MS);
    long requestTimeout = Math.max(1000, Math.min(30_000, deliveryTimeoutMs / 2));
    base = new Properties();
    base.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    base.put(ProducerConfig.ACKS_CONFIG, "all");
    base.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    base.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, maxBlockMs);
    base.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) requestTimeout);
    base.put(
        ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
        (int) Math.max(deliveryTimeoutMs, requestTimeout + 5));
    base.put(ProducerConfig.LINGER_MS_CONFIG, 2);
    base.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    base.put(ProducerConfig.CLIENT_ID_CONFIG, config.instanceId());
    this.single = newProducer(base);
    int n = config.intValue(IngestConfig.TRANSACTIONAL_PRODUCERS);
    this.pool = new ArrayBlockingQueue<>(n);
    for (int i = 0; i < n; i++) {
      pool.add(new TxProducer("reelflow-" + config.instanceId() + "-tx-" + i));
    }
    Properties a = new Properties();
    a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    this.admin = Admin.create(a);
  }

  private Producer<String, Object> newProducer(Properties p) {
    return new KafkaProducer<>(p, new StringSerializer(), new ValueSerializer(values));
  }

  /** Raw bytes pass through (ingest's JSON idempotency records); everything else is Avro. */
  private record ValueSerializer(Serializer<Object> avro) implements Serializer<Object> {
    @Override
    public byte[] serialize(String topic, Object data) {
      if (data == null) {
        return null;
      }
      if (data instanceof byte[] b) {
        return b;
      }
      return avro.serialize(topic, data);
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {}
  }

  @Override
  public CompletableFuture<Void> sendAsync(Outgoing r) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    try {
      single.send(
          new ProducerRecord<>(r.topic(), r.key(), r.value()),
          (meta, e) -> {
            if (e == null) {
              done.complete(null);
            } else {
              done.completeExceptionally(
                  new PublishException("Kafka did not acknowledge: " + e, e));
            }
          });
    } catch (SerializationException e) {
      throw e;
    } catch (KafkaException e) {
      done.completeExceptionally(
          new PublishException("Kafka did not take the record in time: " + e, e));
    }
    // The producer answers every callback within delivery.timeout.ms; this only guards that bound
    // (a TimeoutException, which EventPublisher.cause turns into a PublishException).
    return done.orTimeout(deliveryTimeoutMs + maxBlockMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public Transaction begin() throws PublishException {
    TxProducer tx;
    try {
      tx = pool.poll(maxBlockMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PublishException("Interrupted while waiting for a transactional producer", e);
    }
    if (tx == null) {
      throw new PublishException("All transactional producers are busy with other batches", null);
    }
    Producer<String, Object> p;
    try {
      p = tx.get();
    } catch (KafkaException e) {
      tx.discard();
      pool.add(tx);
      throw new PublishException("Kafka transactions are unavailable: " + e, e);
    }
    KafkaTransaction t = new KafkaTransaction(tx, p);
    try {
      p.beginTransaction();
    } catch (KafkaException e) {
      t.abandon();
      throw new PublishException("Kafka did not begin the transaction: " + e, e);
    }
    return t;
  }

  /** A borrowed transactional producer with an open transaction; given back when it ends. */
  private final class KafkaTransaction implements Transaction {
    private final TxProducer tx;
    private final Producer<String, Object> producer;
    // The first record the broker refused; the producer would refuse the commit, this says why.
    private final AtomicReference<Exception> refused = new AtomicReference<>();
    private boolean ended;

    KafkaTransaction(TxProducer tx, Producer<String, Object> producer) {
      this.tx = tx;
      this.producer = producer;
    }

    @Override
    public void send(Outgoing r) throws PublishException {
      if (ended) {
        throw new IllegalStateException("The transaction has ended");
      }
      try {
        producer.send(
            new ProducerRecord<>(r.topic(), r.key(), r.value()),
            (meta, e) -> {
              if (e != null) {
                refused.compareAndSet(null, e);
              }
            });
      } catch (SerializationException e) {
        abandon();
        throw e;
      } catch (KafkaException e) {
        abandon();
        throw new PublishException("Batch transaction aborted: " + e, e);
      }
    }

    @Override
    public void commit() throws PublishException {
      if (ended) {
        throw new IllegalStateException("The transaction has ended");
      }
      try {
        producer.flush();
        Exception e = refused.get();
        if (e != null) {
          abandon();
          throw new PublishException("Batch transaction aborted: " + e, e);
        }
        producer.commitTransaction();
      } catch (KafkaException e) {
        // also Kafka's InterruptException, which has set the thread's interrupt flag again
        abandon();
        throw new PublishException("Batch transaction aborted: " + e, e);
      }
      ended = true;
      pool.add(tx);
    }

    @Override
    public void close() {
      if (!ended) {
        abandon();
      }
    }

    /** Aborts and gives the producer back. */
    void abandon() {
      ended = true;
      try {
        abort(tx, producer);
      } finally {
        pool.add(tx);
      }
    }
  }

  private static void abort(TxProducer tx, Producer<String, Object> p) {
    try {
      p.abortTransaction();
    } catch (RuntimeException e) {
      // Fenced, timed out or in an unknown state: start over with a fresh producer, whose
      // initTransactions() aborts whatever this one left open.
      LOG.warn("Abort of {} failed ({}); replacing the producer", tx.transactionalId, e.toString());
      tx.discard();
    }
  }

  @Override
  public boolean reachable(Duration timeout) {
    try {
      return !admin
          .describeCluster(new DescribeClusterOptions().timeoutMs((int) timeout.toMillis()))
          .nodes()
          .get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS)
          .isEmpty();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return false;
    }
  }

  @Override
  public void close() {
    single.close(Duration.ofSeconds(5));
    for (TxProducer tx : pool) {
      tx.discard();
    }
    admin.close(Duration.ofSeconds(2));
  }
}
