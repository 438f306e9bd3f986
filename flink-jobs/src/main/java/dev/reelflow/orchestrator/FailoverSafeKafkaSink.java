package dev.reelflow.orchestrator;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.kafka.sink.KafkaCommittable;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaWriterState;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.SupportsPostCommitTopology;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link KafkaSink} whose writers never fail their task's clean-up: closing a writer whose
 * producer is in a fatal state (e.g. {@code InvalidPidMappingException} after a transaction
 * coordinator moved during a broker stall) logs the error instead of throwing it.
 *
 * <p>Why: the exactly-once writer aborts its open transaction in {@code close()} and lets every
 * error but {@code ProducerFencedException} escape. Flink closes the writer while it handles the
 * task's failure, and an exception there is "an exception in the exception handler": fatal to the
 * whole TaskManager. In a MiniCluster (the local default, the tests) that is the only TaskManager,
 * so the restarted job waits for slots forever, no status is written again and read_committed
 * readers see nothing more (issue 17, scenario 5). The abort is best effort anyway: the restarted
 * writer aborts every lingering transaction of its prefix ({@code initTransactions} on each id)
 * before it writes, so nothing committed depends on it.
 *
 * <p>Everything else (writer state, committables, the committer, co-location of writer and
 * committer) is the delegate's, unchanged: a job restores its state across this wrapper.
 */
final class FailoverSafeKafkaSink<IN>
    implements Sink<IN>,
        SupportsWriterState<IN, KafkaWriterState>,
        SupportsCommitter<KafkaCommittable>,
        SupportsPostCommitTopology<KafkaCommittable> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(FailoverSafeKafkaSink.class);

  private final KafkaSink<IN> delegate;
  private final String name;

  FailoverSafeKafkaSink(KafkaSink<IN> delegate, String name) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
    this.name = Objects.requireNonNull(name, "name");
  }

  @Override
  public Writer<IN> createWriter(WriterInitContext context) throws IOException {
    return new Writer<>(delegate.createWriter(context), name);
  }

  @Override
  public Writer<IN> restoreWriter(
      WriterInitContext context, Collection<KafkaWriterState> recoveredState) throws IOException {
    return new Writer<>(delegate.restoreWriter(context, recoveredState), name);
  }

  @Override
  public SimpleVersionedSerializer<KafkaWriterState> getWriterStateSerializer() {
    return delegate.getWriterStateSerializer();
  }

  @Override
  public Committer<KafkaCommittable> createCommitter(CommitterInitContext context)
      throws IOException {
    return delegate.createCommitter(context);
  }

  @Override
  public SimpleVersionedSerializer<KafkaCommittable> getCommittableSerializer() {
    return delegate.getCommittableSerializer();
  }

  @Override
  public void addPostCommitTopology(DataStream<CommittableMessage<KafkaCommittable>> committables) {
    // KafkaSink co-locates its committer with its writer here (they share the producers).
    delegate.addPostCommitTopology(committables);
  }

  /** The delegate's writer, with a {@link #close()} that does not throw Kafka client errors. */
  static final class Writer<IN>
      implements StatefulSinkWriter<IN, KafkaWriterState>,
          CommittingSinkWriter<IN, KafkaCommittable> {
    private final StatefulSinkWriter<IN, KafkaWriterState> stateful;
    private final CommittingSinkWriter<IN, KafkaCommittable> committing;
    private final String name;

    /** {@code delegate}: KafkaSink's writer, which is both stateful and committing. */
    @SuppressWarnings("unchecked")
    Writer(SinkWriter<IN> delegate, String name) {
      if (!(delegate instanceof StatefulSinkWriter<?, ?>
          && delegate instanceof CommittingSinkWriter<?, ?>)) {
        throw new IllegalArgumentException(
            "expected a stateful, committing Kafka writer, got " + delegate.getClass().getName());
      }
      this.stateful = (StatefulSinkWriter<IN, KafkaWriterState>) delegate;
      this.committing = (CommittingSinkWriter<IN, KafkaCommittable>) delegate;
      this.name = name;
    }

    @Override
    public void write(IN element, Context context) throws IOException, InterruptedException {
      stateful.write(element, context);
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
      stateful.flush(endOfInput);
    }

    @Override
    public void writeWatermark(Watermark watermark) throws IOException, InterruptedException {
      stateful.writeWatermark(watermark);
    }

    @Override
    public List<KafkaWriterState> snapshotState(long checkpointId) throws IOException {
      return stateful.snapshotState(checkpointId);
    }

    @Override
    public Collection<KafkaCommittable> prepareCommit() throws IOException, InterruptedException {
      return committing.prepareCommit();
    }

    /**
     * Closes the delegate (it closes all its producers before it rethrows); a Kafka client error
     * from aborting the open transaction is logged, not thrown (see the class comment).
     */
    @Override
    public void close() throws Exception {
      try {
        stateful.close();
      } catch (Exception e) {
        if (!kafkaClientError(e)) {
          throw e;
        }
        LOG.warn(
            "{} sink: could not abort its open transaction while closing ({}); the restarted"
                + " writer aborts it before it writes",
            name,
            e.toString());
      }
    }

    private static boolean kafkaClientError(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof KafkaException) {
          return true;
        }
      }
      return false;
    }
  }
}
