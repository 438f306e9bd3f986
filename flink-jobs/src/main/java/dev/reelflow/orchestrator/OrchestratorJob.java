package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.DeadLetter;
import dev.reelflow.schemas.avro.RenderStatus;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
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
 */
public final class OrchestratorJob {
  private static final Logger LOG = LoggerFactory.getLogger(OrchestratorJob.class);

  private final OrchestratorConfig config;
  private final RecordCodec codec;
  private final boolean checkBroker;
  private final MapFunction<Inbound, Inbound> lifecycleTap;

  private OrchestratorJob(Builder b) {
    this.config = b.config;
    this.codec = b.codec != null ? b.codec : new RegistryRecordCodec(b.config.registryUrl());
    this.checkBroker = b.checkBroker;
    this.lifecycleTap = b.lifecycleTap;
  }

  public static Builder builder() {
    return new Builder();
  }

  public OrchestratorConfig config() {
    return config;
  }

  /**
   * Runs the job on the environment Flink gives ({@code flink run}, or a local MiniCluster when
   * started from a plain JVM). Arguments: {@code [--config file.properties]}; every key can also
   * come from the environment (see {@link OrchestratorConfig}).
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

    DataStream<RenderStatus> statuses =
        lifecycle
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

  private <T> KafkaSink<T> sink(
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
    return KafkaSink.<T>builder()
        .setBootstrapServers(config.bootstrapServers())
        .setDeliveryGuarantee(guarantee)
        .setTransactionalIdPrefix(config.transactionalIdPrefix() + "-" + name)
        .setKafkaProducerConfig(p)
        .setRecordSerializer(serializer)
        .build();
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
        if (config.transactionTimeout().toMillis() > maxMs) {
          throw new OrchestratorConfigException(
              OrchestratorConfig.TRANSACTION_TIMEOUT
                  + " ("
                  + config.transactionTimeout().toMillis()
                  + " ms) exceeds the broker's transaction.max.timeout.ms ("
                  + maxMs
                  + " ms); lower the timeout or raise the broker limit");
        }
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

    private Builder() {}

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
