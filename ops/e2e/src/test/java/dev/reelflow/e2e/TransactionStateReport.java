package dev.reelflow.e2e;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;

/**
 * What a read_committed reader waits for, as facts from the cluster: for each partition of the
 * given topics the high watermark and the last stable offset (LSO), and where the LSO trails, the
 * producers with an open transaction on it ({@code describeProducers}: producer id, epoch, the
 * offset its transaction started at); every transaction the coordinators know ({@code
 * listTransactions}/{@code describeTransactions}: id, state, producer id and epoch, age,
 * partitions); a consumer group's committed offsets against the ends; and the stacks of this JVM's
 * threads that are inside a Kafka transaction call (the orchestrator's sinks run in this JVM's
 * MiniCluster). Written when a fault scenario waits in vain, so a hang names its cause.
 */
final class TransactionStateReport {
  private TransactionStateReport() {}

  /** Transaction states that hold no partition's last stable offset. */
  private static final Set<TransactionState> SETTLED =
      Set.of(
          TransactionState.COMPLETE_COMMIT,
          TransactionState.COMPLETE_ABORT,
          TransactionState.EMPTY);

  private static final java.util.Comparator<TopicPartition> BY_PARTITION =
      java.util.Comparator.comparing(TopicPartition::topic)
          .thenComparingInt(TopicPartition::partition);

  /** The report; never throws (a part that cannot be read says why). */
  static String of(String bootstrapServers, Collection<String> topics, String groupId) {
    StringBuilder out = new StringBuilder("---- transaction state at ").append(Instant.now());
    try (Admin admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                20_000,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                10_000))) {
      List<TopicPartition> partitions = partitions(admin, topics, out);
      Map<TopicPartition, Long> pinned = offsets(admin, partitions, out);
      producers(admin, pinned, out);
      transactions(admin, out);
      if (groupId != null) {
        group(admin, groupId, partitions, out);
      }
    } catch (RuntimeException e) {
      out.append("\nadmin client failed: ").append(e);
    }
    threads(out);
    return out.append("\n---- end of transaction state").toString();
  }

  private static List<TopicPartition> partitions(
      Admin admin, Collection<String> topics, StringBuilder out) {
    List<TopicPartition> all = new ArrayList<>();
    try {
      admin
          .describeTopics(topics)
          .allTopicNames()
          .get(30, TimeUnit.SECONDS)
          .forEach(
              (topic, d) -> {
                for (TopicPartitionInfo p : d.partitions()) {
                  all.add(new TopicPartition(topic, p.partition()));
                  out.append("\n")
                      .append(topic)
                      .append('-')
                      .append(p.partition())
                      .append(" leader ")
                      .append(p.leader() == null ? "none" : p.leader().id())
                      .append(" isr ")
                      .append(p.isr().stream().map(n -> n.id()).toList());
                }
              });
    } catch (Exception e) {
      out.append("\ndescribeTopics failed: ").append(e);
    }
    all.sort(BY_PARTITION);
    return all;
  }

  /** Logs HW and LSO per partition; returns the partitions whose LSO trails with their LSO. */
  private static Map<TopicPartition, Long> offsets(
      Admin admin, List<TopicPartition> partitions, StringBuilder out) {
    Map<TopicPartition, Long> pinned = new TreeMap<>(BY_PARTITION);
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    partitions.forEach(p -> latest.put(p, OffsetSpec.latest()));
    try {
      var hw =
          admin
              .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED))
              .all()
              .get(30, TimeUnit.SECONDS);
      var lso =
          admin
              .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
              .all()
              .get(30, TimeUnit.SECONDS);
      out.append("\noffsets (high watermark / last stable offset):");
      for (TopicPartition p : partitions) {
        long h = hw.get(p).offset();
        long l = lso.get(p).offset();
        out.append("\n  ").append(p).append(" HW ").append(h).append(" LSO ").append(l);
        if (l < h) {
          out.append("  <-- LSO trails by ").append(h - l);
          pinned.put(p, l);
        }
      }
    } catch (Exception e) {
      out.append("\nlistOffsets failed: ").append(e);
    }
    return pinned;
  }

  private static void producers(Admin admin, Map<TopicPartition, Long> pinned, StringBuilder out) {
    if (pinned.isEmpty()) {
      out.append("\nno partition has its LSO behind its high watermark");
      return;
    }
    try {
      Map<TopicPartition, PartitionProducerState> states =
          admin.describeProducers(pinned.keySet()).all().get(30, TimeUnit.SECONDS);
      long now = System.currentTimeMillis();
      states.forEach(
          (p, s) -> {
            out.append("\nproducers on ")
                .append(p)
                .append(" (LSO ")
                .append(pinned.get(p))
                .append("):");
            for (ProducerState ps : s.activeProducers()) {
              if (ps.currentTransactionStartOffset().isEmpty()) {
                continue;
              }
              out.append("\n  producerId ")
                  .append(ps.producerId())
                  .append(" epoch ")
                  .append(ps.producerEpoch())
                  .append(" open transaction from offset ")
                  .append(ps.currentTransactionStartOffset().getAsLong())
                  .append(" last write ")
                  .append(now - ps.lastTimestamp())
                  .append(" ms ago, coordinator epoch ")
                  .append(
                      ps.coordinatorEpoch().isPresent() ? ps.coordinatorEpoch().getAsInt() : -1);
            }
          });
    } catch (Exception e) {
      out.append("\ndescribeProducers failed: ").append(e);
    }
  }

  private static void transactions(Admin admin, StringBuilder out) {
    try {
      Collection<TransactionListing> all =
          admin.listTransactions(new ListTransactionsOptions()).all().get(30, TimeUnit.SECONDS);
      List<String> open = new ArrayList<>();
      for (TransactionListing t : all) {
        if (!SETTLED.contains(t.state())) {
          open.add(t.transactionalId());
        }
      }
      out.append("\ntransactions known to the coordinators: ")
          .append(all.size())
          .append(", not complete: ")
          .append(open.size());
      if (open.isEmpty()) {
        return;
      }
      long now = System.currentTimeMillis();
      Map<String, TransactionDescription> described =
          new TreeMap<>(admin.describeTransactions(open).all().get(30, TimeUnit.SECONDS));
      described.forEach(
          (id, d) ->
              out.append("\n  ")
                  .append(id)
                  .append(' ')
                  .append(d.state().name())
                  .append(" producerId ")
                  .append(d.producerId())
                  .append(" epoch ")
                  .append(d.producerEpoch())
                  .append(" coordinator ")
                  .append(d.coordinatorId())
                  .append(" timeout ")
                  .append(d.transactionTimeoutMs())
                  .append(" ms, open for ")
                  .append(
                      d.transactionStartTimeMs().isPresent()
                          ? (now - d.transactionStartTimeMs().getAsLong()) + " ms"
                          : "?")
                  .append(" on ")
                  .append(d.topicPartitions()));
    } catch (Exception e) {
      out.append("\nlist/describeTransactions failed: ").append(e);
    }
  }

  private static void group(
      Admin admin, String groupId, List<TopicPartition> partitions, StringBuilder out) {
    try {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin
              .listConsumerGroupOffsets(groupId)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      committed.keySet().forEach(p -> latest.put(p, OffsetSpec.latest()));
      var ends =
          admin
              .listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
              .all()
              .get(30, TimeUnit.SECONDS);
      out.append("\ngroup ").append(groupId).append(" committed / end:");
      TreeMap<TopicPartition, OffsetAndMetadata> sorted = new TreeMap<>(BY_PARTITION);
      sorted.putAll(committed);
      sorted.forEach(
          (p, o) ->
              out.append("\n  ")
                  .append(p)
                  .append(' ')
                  .append(o == null ? "-" : o.offset())
                  .append(" / ")
                  .append(ends.containsKey(p) ? ends.get(p).offset() : "?"));
    } catch (Exception e) {
      out.append("\ngroup offsets of ").append(groupId).append(" failed: ").append(e);
    }
  }

  /** Stacks of threads inside a Kafka transaction call or a sink's writer/committer. */
  private static void threads(StringBuilder out) {
    out.append("\nthreads in Kafka transactions or sinks:");
    for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
      String name = e.getKey().getName();
      StackTraceElement[] stack = e.getValue();
      boolean inTransaction = false;
      for (StackTraceElement f : stack) {
        String m = f.getClassName() + "." + f.getMethodName();
        if (m.contains("Transaction") && m.startsWith("org.apache.kafka.clients.producer")) {
          inTransaction = true;
        }
      }
      if (!inTransaction && !name.contains("sink") && !name.contains("Sink")) {
        continue;
      }
      out.append("\n  \"").append(name).append("\" ").append(e.getKey().getState());
      for (int i = 0; i < Math.min(stack.length, 25); i++) {
        out.append("\n      at ").append(stack[i]);
      }
    }
  }
}
