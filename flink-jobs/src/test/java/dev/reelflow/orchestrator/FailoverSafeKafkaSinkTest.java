package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.connector.kafka.sink.KafkaCommittable;
import org.apache.flink.connector.kafka.sink.KafkaWriterState;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.junit.jupiter.api.Test;

/**
 * The writer wrapper of the orchestrator's Kafka sinks: it delegates everything, and a Kafka client
 * error from closing (the exactly-once writer aborting its transaction on a producer in a fatal
 * state, as after {@code InvalidPidMappingException} in the broker fault scenario) does not escape,
 * because Flink treats an exception while it cleans up a failed task as fatal to the TaskManager.
 */
class FailoverSafeKafkaSinkTest {

  /** A Kafka writer stand-in that records calls and fails close() as told. */
  static final class RecordingWriter
      implements StatefulSinkWriter<String, KafkaWriterState>,
          CommittingSinkWriter<String, KafkaCommittable> {
    final List<String> calls = new ArrayList<>();
    Exception onClose;

    @Override
    public void write(String element, SinkWriter.Context context) {
      calls.add("write " + element);
    }

    @Override
    public void flush(boolean endOfInput) {
      calls.add("flush " + endOfInput);
    }

    @Override
    public List<KafkaWriterState> snapshotState(long checkpointId) {
      calls.add("snapshot " + checkpointId);
      return List.of();
    }

    @Override
    public Collection<KafkaCommittable> prepareCommit() {
      calls.add("prepareCommit");
      return List.of();
    }

    @Override
    public void close() throws Exception {
      calls.add("close");
      if (onClose != null) {
        throw onClose;
      }
    }
  }

  @Test
  void closingAWriterWhoseProducerIsInAFatalStateDoesNotThrow() throws Exception {
    RecordingWriter kafka = new RecordingWriter();
    // What ExactlyOnceKafkaWriter.close() threw in the broker fault run (TransactionManager
    // refusing abortTransaction after InvalidPidMappingException).
    kafka.onClose =
        new KafkaException(
            "Cannot execute transactional method because we are in an error state",
            new InvalidPidMappingException("producer id not assigned to its transactional id"));
    FailoverSafeKafkaSink.Writer<String> writer =
        new FailoverSafeKafkaSink.Writer<>(kafka, "status");

    writer.write("a", null);
    writer.flush(false);
    assertThat(writer.prepareCommit()).isEmpty();
    assertThat(writer.snapshotState(7)).isEmpty();
    writer.close();

    assertThat(kafka.calls)
        .containsExactly("write a", "flush false", "prepareCommit", "snapshot 7", "close");
  }

  @Test
  void otherErrorsFromCloseStillFail() {
    RecordingWriter kafka = new RecordingWriter();
    kafka.onClose = new IOException("disk gone");
    FailoverSafeKafkaSink.Writer<String> writer =
        new FailoverSafeKafkaSink.Writer<>(kafka, "status");

    assertThatThrownBy(writer::close).isInstanceOf(IOException.class).hasMessage("disk gone");
  }

  @Test
  void refusesAWriterThatIsNotStatefulAndCommitting() {
    SinkWriter<String> plain =
        new SinkWriter<>() {
          @Override
          public void write(String element, Context context) {}

          @Override
          public void flush(boolean endOfInput) {}

          @Override
          public void close() {}
        };

    assertThatThrownBy(() -> new FailoverSafeKafkaSink.Writer<>(plain, "status"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("stateful, committing");
  }
}
