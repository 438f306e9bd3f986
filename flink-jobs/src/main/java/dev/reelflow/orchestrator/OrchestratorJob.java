package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The orchestrator job. Builds the pipeline on a given {@link StreamExecutionEnvironment}, so the
 * same code runs in a MiniCluster (local default, tests) and as a jar on a Flink cluster ({@link
 * #main}).
 *
 * <pre>{@code
 * OrchestratorJob job = OrchestratorJob.builder()
 *     .config(OrchestratorConfig.builder().bootstrapServers(kafka).registryUrl(registry).build())
 *     .build();
 * JobClient client = job.start(StreamExecutionEnvironment.getExecutionEnvironment());
 * }</pre>
 *
 * <p>Operators (uid): kafka-inputs → route-inputs → schedule-trigger (→ schedule-source-reader) →
 * render-lifecycle → dispatch-scheduler → status-gate; sinks tasks-sink, status-sink, lineage-sink,
 * dlq-sink, commands-sink.
 *
 * <p>Restarts: checkpoints are retained on cancellation and kill; a start resumes from the newest
 * usable retained checkpoint under {@code checkpoint.dir} ({@link RetainedCheckpoints}) or from the
 * path the cluster gives. A start without any state reads the topics for acknowledged renders the
 * lost state held and takes them over ({@link UnfinishedRenders}).
 */
public final class OrchestratorJob {
  private static final Logger LOG = LoggerFactory.getLogger(OrchestratorJob.class);

  private final OrchestratorConfig config;
  private final RecordCodec codec;
  private final boolean checkBroker;
  private final MapFunction<Inbound, Inbound> lifecycleTap;
  private final boolean restoreLatest;
  private final boolean recoverFromTopics;
  private volatile String restoredFrom;
  private volatile int takenOver;
  private volatile int endedLost;

  /** Checkpoints kept in the checkpoint directory. */
  static final int RETAINED_CHECKPOINTS = 3;

  /** Operators whose state a checkpoint must hold to be this job's. */
  static final List<String> RESTORE_UIDS = List.of("kafka-inputs");

  /** Longest time to read the topics after a start without state. */
  static final Duration RECOVERY_TIMEOUT = Duration.ofMinutes(2);

  private OrchestratorJob(Builder b) {
    this.config = b.config;
    this.codec = b.codec != null ? b.codec : new RegistryRecordCodec(b.config.registryUrl());
    this.checkBroker = b.checkBroker;
    this.lifecycleTap = b.lifecycleTap;
    this.restoreLatest = b.restoreLatest;
    this.recoverFromTopics = b.recoverFromTopics;
  }

  public static Builder builder() {
    return new Builder();
  }

  public OrchestratorConfig config() {
    return config;
  }

  /**
   * The checkpoint or savepoint the last {@link #buildPipeline} restores from; empty when it
   * started without state.
   */
  public Optional<String> restoredFrom() {
    return Optional.ofNullable(restoredFrom);
  }

  /** Unfinished renders the last {@link #buildPipeline} took over from the topics (no state). */
  public int rendersTakenOver() {
    return takenOver;
  }

  /** Unfinished renders it ended FAILED because their requests were past retention. */
  public int rendersEndedLost() {
    return endedLost;
  }

  /**
   * Runs the job on the environment Flink gives ({@code flink run}, or a local MiniCluster when
   * started from a plain JVM). Arguments: {@code [--config file.properties]}; every key can also
   * come from the environment (see {@link OrchestratorSettings}).
   */
  public static void main(String[] args) throws Exception {
    Path file = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        file = Path.of(args[++i]);
      } else {
        throw new OrchestratorConfigException(
            "unknown argument '" + args[i] + "'; usage: OrchestratorJob [--config file]");
      }
    }
    OrchestratorConfig config = OrchestratorConfig.load(file, System.getenv());
    OrchestratorJob job = builder().config(config).build();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    job.buildPipeline(env);
    env.execute(config.jobName());
  }

  /** Builds the pipeline and submits it without waiting for it to end. */
  public JobClient start(StreamExecutionEnvironment env) throws Exception {
    buildPipeline(env);
    return env.executeAsync(config.jobName());
  }

  /** Adds the whole pipeline to {@code env} and configures checkpointing and state. */
  public void buildPipeline(StreamExecutionEnvironment env) {
    LOG.info("{}", config.describe());
    if (checkBroker && config.eventDelivery() == DeliveryGuarantee.EXACTLY_ONCE) {
      checkTransactionTimeout();
    }
    Configuration conf = new Configuration();
    conf.set(StateBackendOptions.STATE_BACKEND, config.stateBackend());
    if (!config.checkpointDir().isEmpty()) {
      conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, config.checkpointDir());
    }
    // Checkpoints outlive the job (a kill, a cancel, a crash) so the next start resumes from them;
    // several are kept so a cut-off newest one still leaves one to fall back to. The JobManager
    // reads the number from the cluster's configuration, so the local MiniCluster, ops/cluster and
    // the FlinkDeployment set it there too.
    conf.set(
        CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
        ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    conf.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, RETAINED_CHECKPOINTS);
    boolean restored = chooseRestore(env, conf);
    env.configure(conf);
    env.setParallelism(config.parallelism());
    env.setBufferTimeout(config.bufferTimeout().toMillis());
    env.enableCheckpointing(config.checkpointInterval().toMillis(), CheckpointingMode.EXACTLY_ONCE);

    KafkaSource<Inbound> source =
        KafkaSource.<Inbound>builder()
            .setBootstrapServers(config.bootstrapServers())
            .setTopics(
                TopicNames.REQUESTS,
                TopicNames.COMMANDS,
                TopicNames.STAGE_EVENTS,
                TopicNames.WORKER_EVENTS,
                TopicNames.SCHEDULES)
            .setGroupId(config.groupId())
            .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
            .setDeserializer(new InboundDeserializer(codec))
            .setProperty("isolation.level", "read_committed")
            .setProperty("client.id.prefix", config.groupId())
            .setProperty("partition.discovery.interval.ms", "30000")
            .build();

    SingleOutputStreamOperator<Inbound> routed =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka-inputs")
            .uid("kafka-inputs")
            .process(new InboundRouter())
            .name("route-inputs")
            .uid("route-inputs");

    SingleOutputStreamOperator<dev.reelflow.schemas.avro.RenderRequest> fired =
        routed
            .getSideOutput(InboundRouter.SCHEDULES)
            .keyBy(Inbound::scheduleId)
            .process(new ScheduleTrigger())
            .name("schedule-trigger")
            .uid("schedule-trigger");

    SingleOutputStreamOperator<dev.reelflow.schemas.avro.RenderRequest> fromSources =
        fired
            .getSideOutput(ScheduleTrigger.SOURCE_FIRES)
            .process(new ScheduleSourceReader(config))
            .name("schedule-source-reader")
            .uid("schedule-source-reader");

    DataStream<Inbound> lifecycleIn =
        routed.union(
            fired
                .union(fromSources)
                .map(r -> Inbound.of(r))
                .returns(Inbound.class)
                .name("scheduled-requests")
                .uid("scheduled-requests"));
    UnfinishedRenders.Found unfinished =
        restored || !recoverFromTopics
            ? new UnfinishedRenders.Found(List.of(), List.of())
            : new UnfinishedRenders(config, codec, RECOVERY_TIMEOUT).scan();
    takenOver = unfinished.recovered().size();
    endedLost = unfinished.failed().size();
    if (!unfinished.recovered().isEmpty()) {
      List<Inbound> recovered = new ArrayList<>();
      unfinished.recovered().forEach(r -> recovered.add(Inbound.recovered(r)));
      lifecycleIn =
          lifecycleIn.union(
              env.fromData(recovered, TypeInformation.of(Inbound.class))
                  .name("recovered-renders")
                  .uid("recovered-renders"));
    }
    if (lifecycleTap != null) {
      lifecycleIn =
          lifecycleIn
              .map(lifecycleTap)
              .returns(Inbound.class)
              .name("lifecycle-tap")
              .uid("lifecycle-tap");
    }

    SingleOutputStreamOperator<RenderStatus> lifecycle =
        lifecycleIn
            .keyBy(Inbound::requestId)
            .process(new RenderLifecycle(config))
            .name("render-lifecycle")
            .uid("render-lifecycle");

    DataStream<PoolInput> poolIn =
        lifecycle
            .getSideOutput(RenderLifecycle.POOL)
            .map(c -> PoolInput.of(c))
            .returns(PoolInput.class)
            .name("pool-commands")
            .uid("pool-commands")
            .union(
                routed
                    .getSideOutput(InboundRouter.POOL)
                    .map(
                        i ->
                            i.workerEvent != null
                                ? PoolInput.of(i.workerEvent)
                                : PoolInput.of(i.stageEvent))
                    .returns(PoolInput.class)
                    .name("pool-events")
                    .uid("pool-events"));

    SingleOutputStreamOperator<TaskDispatch> dispatch =
        poolIn
            .keyBy(PoolInput::pool)
            .process(new DispatchScheduler(config))
            .name("dispatch-scheduler")
            .uid("dispatch-scheduler");

    DataStream<RenderStatus> lifecycleStatuses = lifecycle;
    if (!unfinished.failed().isEmpty()) {
      lifecycleStatuses =
          lifecycle.union(
              env.fromData(unfinished.failed(), TypeInformation.of(RenderStatus.class))
                  .name("lost-renders")
                  .uid("lost-renders"));
    }
    DataStream<RenderStatus> statuses =
        lifecycleStatuses
            .union(dispatch.getSideOutput(DispatchScheduler.POSITIONS))
            .keyBy(RenderStatus::getRequestId)
            .process(new StatusGate(config.stateRetention().toMillis()))
            .name("status-gate")
            .uid("status-gate");

    DataStream<DeadLetter> deadLetters =
        routed
            .getSideOutput(InboundRouter.DLQ)
            .union(
                lifecycle.getSideOutput(RenderLifecycle.DLQ),
                fired.getSideOutput(ScheduleTrigger.DLQ),
                fromSources.getSideOutput(ScheduleTrigger.DLQ));

    dispatch
        .sinkTo(sink("tasks", config.taskDelivery(), new OutboundSerializers.Tasks(codec), true))
        .name("tasks-sink")
        .uid("tasks-sink");
    statuses
        .sinkTo(
            sink(
                "status",
                config.eventDelivery(),
                OutboundSerializers.ByRequestId.status(codec),
                false))
        .name("status-sink")
        .uid("status-sink");
    lifecycle
        .getSideOutput(RenderLifecycle.LINEAGE)
        .sinkTo(sink("lineage", config.eventDelivery(), new OutboundSerializers.Lineage(), false))
        .name("lineage-sink")
        .uid("lineage-sink");
    // Duplicates are harmless (a worker cancels a render once), so the task delivery applies.
    lifecycle
        .getSideOutput(RenderLifecycle.COMMANDS)
        .sinkTo(
            sink(
                "commands",
                config.taskDelivery(),
                OutboundSerializers.ByRequestId.commands(codec),
                true))
        .name("commands-sink")
        .uid("commands-sink");
    deadLetters
        .sinkTo(
            sink("dlq", config.eventDelivery(), new OutboundSerializers.DeadLetters(codec), false))
        .name("dlq-sink")
        .uid("dlq-sink");
  }

  /**
   * Decides where the job's state comes from and logs it: a path the cluster already set ({@code
   * flink run -s}, the Kubernetes operator), else the newest usable retained checkpoint under the
   * checkpoint directory, else none (the topics are then read for unfinished renders). Returns
   * whether the job restores state.
   */
  private boolean chooseRestore(StreamExecutionEnvironment env, Configuration conf) {
    String given = env.getConfiguration().get(StateRecoveryOptions.SAVEPOINT_PATH);
    restoredFrom = null;
    if (given != null && !given.isBlank()) {
      LOG.info("restoring the orchestrator from {} (set by the cluster)", given);
      restoredFrom = given;
      return true;
    }
    if (!restoreLatest || config.checkpointDir().isEmpty()) {
      LOG.info(
          "no checkpoint restore configured ({}); starting with empty state",
          config.checkpointDir().isEmpty() ? "no checkpoint.dir" : "restore disabled");
      return false;
    }
    Optional<RetainedCheckpoints.Found> found;
    try {
      found = RetainedCheckpoints.latest(config.checkpointDir(), RESTORE_UIDS);
    } catch (IOException e) {
      throw new StateRecoveryException(
          "could not list the retained checkpoints under " + config.checkpointDir() + ": " + e, e);
    }
    if (found.isEmpty()) {
      LOG.info(
          "no retained checkpoint found under {}: starting with empty state",
          config.checkpointDir());
      return false;
    }
    RetainedCheckpoints.Found f = found.get();
    conf.set(StateRecoveryOptions.SAVEPOINT_PATH, f.path());
    restoredFrom = f.path();
    // The one-shot sources of a start after state loss (recovered-renders, lost-renders) may be
    // in the checkpoint but are not in a restored job's graph.
    conf.set(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE, true);
    LOG.info(
        "restoring the orchestrator from retained checkpoint {} (checkpoint {} of job {}{})",
        f.path(),
        f.checkpointId(),
        f.jobId(),
        f.skipped().isEmpty() ? "" : "; skipped newer unusable ones: " + f.skipped());
    return true;
  }

  private <T> FailoverSafeKafkaSink<T> sink(
      String name,
      DeliveryGuarantee guarantee,
      org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema<T> serializer,
      boolean lowLatency) {
    Properties p = new Properties();
    p.setProperty("transaction.timeout.ms", Long.toString(config.transactionTimeout().toMillis()));
    p.setProperty("client.id", config.transactionalIdPrefix() + "-" + name);
    if (lowLatency) {
      p.setProperty("linger.ms", "0");
    }
    // Wrapped so that a producer in a fatal state cannot take the TaskManager down while its
    // task fails over (FailoverSafeKafkaSink says how that stalled the whole job).
    return new FailoverSafeKafkaSink<>(
        KafkaSink.<T>builder()
            .setBootstrapServers(config.bootstrapServers())
            .setDeliveryGuarantee(guarantee)
            .setTransactionalIdPrefix(config.transactionalIdPrefix() + "-" + name)
            .setKafkaProducerConfig(p)
            .setRecordSerializer(serializer)
            .build(),
        name);
  }

  /**
   * Refuses to start when the transaction timeout exceeds the broker's {@code
   * transaction.max.timeout.ms} (the producer would be fenced at its first transaction).
   */
  private void checkTransactionTimeout() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
    try (Admin admin = Admin.create(p)) {
      Node node = admin.describeCluster().nodes().get(15, TimeUnit.SECONDS).iterator().next();
      ConfigResource broker =
          new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(node.id()));
      Map<ConfigResource, Config> configs =
          admin.describeConfigs(java.util.List.of(broker)).all().get(15, TimeUnit.SECONDS);
      ConfigEntry max = configs.get(broker).get("transaction.max.timeout.ms");
      if (max != null && max.value() != null) {
        long maxMs = Long.parseLong(max.value());
        TransactionTimingRules.checkBrokerLimit(config.transactionTimeout(), maxMs);
        LOG.info(
            "transaction timeout {} ms within broker maximum {} ms",
            config.transactionTimeout().toMillis(),
            maxMs);
      }
    } catch (OrchestratorConfigException e) {
      throw e;
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      LOG.warn(
          "could not read transaction.max.timeout.ms from {}: {}; starting without the check",
          config.bootstrapServers(),
          e.toString());
    }
  }

  /** Builder with validated options. */
  public static final class Builder {
    private OrchestratorConfig config = OrchestratorConfig.defaults();
    private RecordCodec codec;
    private boolean checkBroker = true;
    private MapFunction<Inbound, Inbound> lifecycleTap;
    private boolean restoreLatest = true;
    private boolean recoverFromTopics = true;

    private Builder() {}

    /**
     * Whether a start restores the newest usable retained checkpoint under the config's checkpoint
     * directory (default true). A restore path the cluster sets wins either way.
     */
    public Builder restoreLatestCheckpoint(boolean restore) {
      this.restoreLatest = restore;
      return this;
    }

    /**
     * Whether a start without state reads the topics for acknowledged renders that are unfinished
     * and takes them over (default true; see {@link UnfinishedRenders}).
     */
    public Builder recoverFromTopics(boolean recover) {
      this.recoverFromTopics = recover;
      return this;
    }

    public Builder config(OrchestratorConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /** How values are read and written; default: the schema registry of the config. */
    public Builder codec(RecordCodec codec) {
      this.codec = Objects.requireNonNull(codec, "codec");
      return this;
    }

    /** Whether to check the transaction timeout against the broker at start (default true). */
    public Builder checkBroker(boolean check) {
      this.checkBroker = check;
      return this;
    }

    /** Test hook: a map over the lifecycle's input (e.g. to inject a failure). */
    Builder lifecycleTap(MapFunction<Inbound, Inbound> tap) {
      this.lifecycleTap = tap;
      return this;
    }

    public OrchestratorJob build() {
      return new OrchestratorJob(this);
    }
  }
}
