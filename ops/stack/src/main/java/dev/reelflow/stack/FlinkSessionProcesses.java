package dev.reelflow.stack;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standalone Flink session cluster whose JobManager ({@code StandaloneSessionClusterEntrypoint})
 * and TaskManagers ({@code TaskManagerRunner}) run as separate JVMs from the Flink Maven artifacts
 * (flink-runtime, flink-clients, flink-streaming-java and flink-runtime-web for jar submission over
 * REST) on the given class path: flink-dist is not published to Maven, so there are no Flink shell
 * scripts to call.
 *
 * <p>The configuration is written to {@code workDir/conf/config.yaml}. TaskManager memory is
 * configured explicitly (every fine-grained size, as Flink's {@code taskmanager.sh} would pass as
 * dynamic properties after {@code BashJavaUtils}), and the JVM limits are derived from it. Jobs are
 * submitted through the REST API ({@code POST /jars/upload}, {@code POST /jars/{id}/run}). The
 * running cluster is described in {@code workDir/cluster.properties} (REST URL, pids).
 */
public final class FlinkSessionProcesses implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FlinkSessionProcesses.class);
  private static final String HOST = "127.0.0.1";
  private static final String PROMETHEUS_REPORTER =
      "org.apache.flink.metrics.prometheus.PrometheusReporterFactory";
  private static final String METRICS_PORT = "metrics.reporter.prom.port";
  static final String JOB_MANAGER_MAIN =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  static final String TASK_MANAGER_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";

  // TaskManager memory (MiB): heap = framework + task heap; direct = framework + task off-heap +
  // network; every size explicit so TaskManagerRunner needs no BashJavaUtils step.
  private static final int TM_FRAMEWORK_HEAP = 64;
  private static final int TM_FRAMEWORK_OFF_HEAP = 64;
  private static final int TM_NETWORK = 32;
  private static final int TM_MANAGED = 32;
  private static final int TM_METASPACE = 256;

  /**
   * The module flags of Flink's default {@code env.java.default-opts.all} (flink-dist's
   * config.yaml): Flink reflects into JDK internals (e.g. when registering its translators).
   */
  static final List<String> JAVA_MODULE_OPTIONS =
      List.of(
          "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
          "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
          "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
          "--add-opens=java.base/java.lang=ALL-UNNAMED",
          "--add-opens=java.base/java.net=ALL-UNNAMED",
          "--add-opens=java.base/java.io=ALL-UNNAMED",
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
          "--add-opens=java.base/java.text=ALL-UNNAMED",
          "--add-opens=java.base/java.time=ALL-UNNAMED",
          "--add-opens=java.base/java.util=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  private final Path workDir;
  private final int taskManagers;
  private final int slots;
  private final int taskHeapMb;
  private final int jobManagerHeapMb;
  private final String classpath;
  private final Map<String, String> overrides;
  private final List<String> extraJvmOptions;
  private final Duration startTimeout;
  private final int rpcPort;
  private final int restPort;

  /** Prometheus reporter port of each node: the JobManager first, then TaskManager 1..n. */
  private final List<Integer> metricsPorts = new ArrayList<>();

  private final FlinkRestClient rest;
  private ChildJvm jobManager;
  private final List<ChildJvm> taskManagerJvms = new ArrayList<>();

  private FlinkSessionProcesses(Builder b) {
    this.workDir = b.workDir;
    this.taskManagers = b.taskManagers;
    this.slots = b.slots;
    this.taskHeapMb = b.taskHeapMb;
    this.jobManagerHeapMb = b.jobManagerHeapMb;
    this.classpath = b.classpath;
    this.overrides = Map.copyOf(b.overrides);
    this.extraJvmOptions = List.copyOf(b.extraJvmOptions);
    this.startTimeout = b.startTimeout;
    this.rpcPort = FreePorts.pick();
    int rest = FreePorts.pick();
    while (rest == rpcPort) {
      rest = FreePorts.pick();
    }
    this.restPort = rest;
    this.rest = new FlinkRestClient(restUrl());
    java.util.Set<Integer> taken = new java.util.HashSet<>(List.of(rpcPort, restPort));
    while (metricsPorts.size() < taskManagers + 1) {
      int port = FreePorts.pick();
      if (taken.add(port)) {
        metricsPorts.add(port);
      }
    }
  }

  /** A builder for a session cluster living under {@code workDir}. */
  public static Builder builder(Path workDir) {
    return new Builder(workDir);
  }

  /** The Flink configuration of every node (written to {@code conf/config.yaml}). */
  Map<String, String> configuration() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("jobmanager.rpc.address", HOST);
    c.put("jobmanager.rpc.port", String.valueOf(rpcPort));
    c.put("jobmanager.bind-host", HOST);
    c.put("rest.address", HOST);
    c.put("rest.bind-address", HOST);
    c.put("rest.port", String.valueOf(restPort));
    c.put("taskmanager.host", HOST);
    c.put("taskmanager.bind-host", HOST);
    c.put("taskmanager.numberOfTaskSlots", String.valueOf(slots));
    c.put("taskmanager.cpu.cores", String.valueOf(slots));
    c.put("taskmanager.memory.framework.heap.size", TM_FRAMEWORK_HEAP + "m");
    c.put("taskmanager.memory.task.heap.size", taskHeapMb + "m");
    c.put("taskmanager.memory.framework.off-heap.size", TM_FRAMEWORK_OFF_HEAP + "m");
    c.put("taskmanager.memory.task.off-heap.size", "0m");
    c.put("taskmanager.memory.network.min", TM_NETWORK + "m");
    c.put("taskmanager.memory.network.max", TM_NETWORK + "m");
    c.put("taskmanager.memory.managed.size", TM_MANAGED + "m");
    c.put("taskmanager.memory.jvm-metaspace.size", TM_METASPACE + "m");
    c.put("taskmanager.memory.jvm-overhead.min", "64m");
    c.put("taskmanager.memory.jvm-overhead.max", "64m");
    c.put("parallelism.default", "1");
    c.put("web.upload.dir", workDir.resolve("web-upload").toString());
    c.put("io.tmp.dirs", workDir.resolve("tmp").toString());
    c.put("restart-strategy.type", "fixed-delay");
    c.put("restart-strategy.fixed-delay.attempts", "1000");
    c.put("restart-strategy.fixed-delay.delay", "2 s");
    // A cluster setting (the JobManager's checkpoint store): the orchestrator falls back to the
    // previous retained checkpoint when the newest was cut off by a kill.
    c.put("execution.checkpointing.num-retained", "3");
    // As in the FlinkDeployment. The JobManager's port is here (its reporter ignores dynamic
    // properties); each TaskManager overrides it with its own at start.
    c.put("metrics.reporter.prom.factory.class", PROMETHEUS_REPORTER);
    c.put(METRICS_PORT, String.valueOf(metricsPorts.get(0)));
    c.putAll(overrides);
    return c;
  }

  private Path confDir() {
    return workDir.resolve("conf");
  }

  /** Writes the configuration, starts the JobManager and TaskManagers, waits for every slot. */
  public synchronized FlinkSessionProcesses start() {
    long begin = System.nanoTime();
    try {
      Files.createDirectories(confDir());
      Files.createDirectories(workDir.resolve("web-upload"));
      Files.createDirectories(workDir.resolve("tmp"));
      StringBuilder yaml = new StringBuilder("# Written by ReelFlow ops/cluster\n");
      configuration().forEach((k, v) -> yaml.append(k).append(": \"").append(v).append("\"\n"));
      Files.writeString(confDir().resolve("config.yaml"), yaml.toString());
      jobManager = startJobManagerJvm(workDir, classpath, jobManagerHeapMb, extraJvmOptions);
      writeState();
      awaitOverview(0, false);
      for (int i = 1; i <= taskManagers; i++) {
        taskManagerJvms.add(startTaskManager(i));
      }
      writeState();
      awaitOverview(taskManagers, true);
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("Could not prepare the Flink cluster in " + workDir, e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    LOG.info(
        "Flink session cluster up at {} in {} ms ({} TaskManagers x {} slots, logs in {})",
        restUrl(),
        (System.nanoTime() - begin) / 1_000_000,
        taskManagers,
        slots,
        workDir);
    return this;
  }

  private static ChildJvm startJobManagerJvm(
      Path workDir, String classpath, int heapMb, List<String> extra) {
    return ChildJvm.start(
        "flink jobmanager",
        classpath,
        jvmOptions(extra, "-Xmx" + heapMb + "m", "-Xms" + heapMb / 2 + "m"),
        JOB_MANAGER_MAIN,
        List.of("--configDir", workDir.resolve("conf").toString(), "--executionMode", "cluster"),
        workDir.resolve("jobmanager.log"));
  }

  /**
   * Starts the JobManager again, on the same configuration and ports, after it died (a SIGKILL, a
   * crash). The TaskManagers still running re-register with it: a standalone cluster without HA
   * looks for its JobManager at the configured address, and they keep trying for {@code
   * taskmanager.registration.timeout} (5 min by default). Without HA a new JobManager knows no job:
   * submit the orchestrator again, and it restores its newest usable retained checkpoint. Returns
   * once the REST API answers and every live TaskManager is registered.
   *
   * @throws StackException when the JobManager still runs or does not come back
   */
  public synchronized void restartJobManager() {
    if (jobManager != null && jobManager.isAlive()) {
      throw new StackException(
          "the JobManager (pid " + jobManager.pid + ") still runs; it is not restarted");
    }
    taskManagerJvms.removeIf(tm -> !tm.isAlive());
    jobManager = startJobManagerJvm(workDir, classpath, jobManagerHeapMb, extraJvmOptions);
    try {
      writeState();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not record the new JobManager in " + workDir, e);
    }
    awaitOverview(taskManagerJvms.size(), false);
    LOG.info("JobManager restarted (pid {}) at {}", jobManager.pid, restUrl());
  }

  /**
   * {@link #restartJobManager()} for a cluster started earlier by another process in {@code
   * workDir} (its {@code conf/config.yaml} and {@code cluster.properties}), with this JVM's class
   * path: starts the JobManager when its recorded pid is gone, records the new pid, and waits until
   * the REST API answers. Returns the new pid, or the running one's when it was alive.
   */
  public static long restartRecordedJobManager(Path workDir, Duration timeout) {
    Path dir = workDir.toAbsolutePath();
    if (!Files.isRegularFile(dir.resolve("conf").resolve("config.yaml"))) {
      throw new StackException(
          "no Flink cluster configuration in " + dir + " (conf/config.yaml); start one first");
    }
    Properties p = KafkaClusterProcesses.readState(dir);
    String recorded = p.getProperty("jobmanager.pid");
    if (recorded != null) {
      ChildJvm old =
          ChildJvm.attach(
              "jobmanager",
              Long.parseLong(recorded),
              dir.resolve("jobmanager.log"),
              JOB_MANAGER_MAIN);
      if (old.isAlive()) {
        return old.pid;
      }
    }
    ChildJvm jm = startJobManagerJvm(dir, System.getProperty("java.class.path"), 384, List.of());
    p.setProperty("jobmanager.pid", String.valueOf(jm.pid));
    try (OutputStream out = Files.newOutputStream(dir.resolve(KafkaClusterProcesses.STATE_FILE))) {
      p.store(out, "Flink session cluster started by ReelFlow ops/cluster");
    } catch (IOException e) {
      throw new UncheckedIOException("Could not record the new JobManager in " + dir, e);
    }
    String restUrl = p.getProperty("rest.url");
    FlinkRestClient client = new FlinkRestClient(restUrl);
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer";
    while (System.nanoTime() < deadline) {
      if (!jm.isAlive()) {
        throw new StackException(
            "the restarted JobManager exited; log " + jm.log + ":\n" + jm.tail(40));
      }
      try {
        last = client.get("/overview").toString();
        return jm.pid;
      } catch (IOException | StackException e) {
        last = e.toString();
      }
      FlinkRestClient.sleep(500);
    }
    throw new StackException(
        "the restarted JobManager at "
            + restUrl
            + " did not answer within "
            + timeout
            + ": "
            + last);
  }

  /** Starts TaskManager {@code i} (1-based): resource id {@code taskmanager-i}. */
  private ChildJvm startTaskManager(int i) {
    int heap = TM_FRAMEWORK_HEAP + taskHeapMb;
    int direct = TM_FRAMEWORK_OFF_HEAP + TM_NETWORK;
    return ChildJvm.start(
        "flink taskmanager " + i,
        classpath,
        jvmOptions(
            extraJvmOptions,
            "-Xmx" + heap + "m",
            "-Xms" + heap + "m",
            "-XX:MaxDirectMemorySize=" + direct + "m",
            "-XX:MaxMetaspaceSize=" + TM_METASPACE + "m"),
        TASK_MANAGER_MAIN,
        List.of(
            "--configDir",
            confDir().toString(),
            "-D",
            "taskmanager.resource-id=taskmanager-" + i,
            "-D",
            METRICS_PORT + "=" + metricsPorts.get(i)),
        workDir.resolve("taskmanager-" + i + ".log"));
  }

  /** TaskManagers {@link #start()} starts again after they exited before registering. */
  static final int TASK_MANAGER_START_RETRIES = 2;

  private static List<String> jvmOptions(List<String> extra, String... memory) {
    List<String> all = new ArrayList<>(JAVA_MODULE_OPTIONS);
    all.addAll(List.of(memory));
    all.addAll(extra);
    return all;
  }

  /**
   * Waits until the REST API reports {@code wantTaskManagers}. With {@code retryTaskManagers}, a
   * TaskManager that exits meanwhile is started again, up to {@link #TASK_MANAGER_START_RETRIES}
   * times in all: on an overloaded machine its RPC system can miss Pekko's fixed 10 s remoting
   * start-up timeout ("Could not create actor system"), which no Flink option raises.
   */
  private void awaitOverview(int wantTaskManagers, boolean retryTaskManagers) {
    long deadline = System.nanoTime() + startTimeout.toNanos();
    String last = "no answer";
    int retries = retryTaskManagers ? TASK_MANAGER_START_RETRIES : 0;
    while (System.nanoTime() < deadline) {
      for (int i = 0; i < taskManagerJvms.size(); i++) {
        ChildJvm tm = taskManagerJvms.get(i);
        if (!tm.isAlive() && retries > 0) {
          retries--;
          LOG.warn(
              "{} exited while starting; starting it again. Its log:\n{}", tm.name, tm.tail(8));
          taskManagerJvms.set(i, startTaskManager(i + 1));
          try {
            writeState();
          } catch (IOException e) {
            throw new UncheckedIOException("Could not record the new TaskManager in " + workDir, e);
          }
        }
      }
      for (ChildJvm n : allNodes()) {
        if (!n.isAlive()) {
          throw new StackException(n.name + " exited; log " + n.log + ":\n" + n.tail(40));
        }
      }
      try {
        JsonNode overview = rest.get("/overview");
        last = overview.toString();
        if (overview.path("taskmanagers").asInt() >= wantTaskManagers) {
          return;
        }
      } catch (IOException | StackException e) {
        last = e.toString();
      }
      FlinkRestClient.sleep(500);
    }
    throw new StackException(
        "Flink cluster at "
            + restUrl()
            + " did not report "
            + wantTaskManagers
            + " TaskManagers within "
            + startTimeout
            + " (last: "
            + last
            + "; logs in "
            + workDir
            + ")");
  }

  private List<ChildJvm> allNodes() {
    List<ChildJvm> all = new ArrayList<>();
    if (jobManager != null) {
      all.add(jobManager);
    }
    all.addAll(taskManagerJvms);
    return all;
  }

  /**
   * The Prometheus endpoints of the nodes ({@code http://host:port/metrics}), the JobManager first:
   * the job's operator metrics are on the TaskManagers.
   */
  public List<String> metricsUrls() {
    return metricsPorts.stream().map(p -> "http://" + HOST + ":" + p + "/metrics").toList();
  }

  /** Base URL of the REST API (and web UI). */
  public String restUrl() {
    return "http://" + HOST + ":" + restPort;
  }

  public Path workDir() {
    return workDir;
  }

  /**
   * Uploads {@code jar} ({@code POST /jars/upload}) and runs its {@code entryClass} with {@code
   * args} ({@code POST /jars/{id}/run}); returns the job id. The program's {@code main} runs in the
   * JobManager, so paths in {@code args} must be readable there.
   */
  public String submitJar(Path jar, String entryClass, List<String> args) {
    return rest.submitJar(jar, entryClass, args);
  }

  /** {@link #submitJar(Path, String, List)} against any Flink REST endpoint. */
  public static String submitJar(String restUrl, Path jar, String entryClass, List<String> args) {
    return new FlinkRestClient(restUrl).submitJar(jar, entryClass, args);
  }

  /** The job's state as Flink reports it (e.g. RUNNING, FAILED). */
  public String jobState(String jobId) {
    return rest.jobState(jobId);
  }

  /** Waits until the job and every one of its vertices are RUNNING. */
  public void awaitJobRunning(String jobId, Duration timeout) {
    rest.awaitJobRunning(jobId, timeout);
  }

  /**
   * {@link #awaitJobRunning(String, Duration)} against any Flink REST endpoint; fails at once when
   * the job ended (FAILED, CANCELED, FINISHED), with its exceptions.
   */
  public static void awaitJobRunning(String restUrl, String jobId, Duration timeout) {
    new FlinkRestClient(restUrl).awaitJobRunning(jobId, timeout);
  }

  /** The jobs of the cluster at {@code restUrl} ({@code GET /jobs/overview}): id, name, state. */
  public static List<String[]> jobs(String restUrl) {
    return new FlinkRestClient(restUrl).jobs();
  }

  /** Cancels a job ({@code PATCH /jobs/{id}?mode=cancel}). */
  public void cancelJob(String jobId) {
    rest.cancelJob(jobId);
  }

  private void writeState() throws IOException {
    Properties p = new Properties();
    p.setProperty("rest.url", restUrl());
    p.setProperty("metrics.urls", String.join(",", metricsUrls()));
    if (jobManager != null) {
      p.setProperty("jobmanager.pid", String.valueOf(jobManager.pid));
    }
    for (int i = 0; i < taskManagerJvms.size(); i++) {
      p.setProperty("taskmanager." + (i + 1) + ".pid", String.valueOf(taskManagerJvms.get(i).pid));
    }
    try (OutputStream out =
        Files.newOutputStream(workDir.resolve(KafkaClusterProcesses.STATE_FILE))) {
      p.store(out, "Flink session cluster started by ReelFlow ops/cluster");
    }
  }

  /** The REST URL recorded by a cluster started earlier (by another process) in {@code workDir}. */
  public static String recordedRestUrl(Path workDir) {
    return KafkaClusterProcesses.readState(workDir).getProperty("rest.url");
  }

  /** Stops TaskManagers, then the JobManager (SIGTERM, SIGKILL after 30 s). */
  @Override
  public synchronized void close() {
    for (ChildJvm tm : taskManagerJvms) {
      tm.stop(Duration.ofSeconds(30));
    }
    if (jobManager != null) {
      jobManager.stop(Duration.ofSeconds(30));
    }
  }

  /**
   * Stops a cluster started earlier (by another process) from the pids in {@code
   * workDir/cluster.properties}; returns how many nodes were running.
   */
  public static int stopRecorded(Path workDir) {
    Properties p = KafkaClusterProcesses.readState(workDir);
    int stopped = 0;
    List<String> keys = new ArrayList<>(p.stringPropertyNames());
    // TaskManagers first, so they do not spin reconnecting to a gone JobManager.
    keys.sort((a, b) -> Boolean.compare(a.startsWith("jobmanager"), b.startsWith("jobmanager")));
    for (String key : keys) {
      if (key.endsWith(".pid")) {
        ChildJvm n =
            ChildJvm.attach(
                key,
                Long.parseLong(p.getProperty(key)),
                workDir,
                key.startsWith("jobmanager") ? JOB_MANAGER_MAIN : TASK_MANAGER_MAIN);
        if (n.isAlive()) {
          n.stop(Duration.ofSeconds(30));
          stopped++;
        }
      }
    }
    return stopped;
  }

  /** Options of a {@link FlinkSessionProcesses}. */
  public static final class Builder {
    private final Path workDir;
    private int taskManagers = 2;
    private int slots = 2;
    private int taskHeapMb = 256;
    private int jobManagerHeapMb = 384;
    private String classpath = System.getProperty("java.class.path");
    private final Map<String, String> overrides = new LinkedHashMap<>();
    private final List<String> extraJvmOptions = new ArrayList<>();
    private Duration startTimeout = Duration.ofSeconds(180);

    private Builder(Path workDir) {
      this.workDir = Objects.requireNonNull(workDir, "workDir").toAbsolutePath();
    }

    /** Number of TaskManager JVMs; default 2. */
    public Builder taskManagers(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("A session cluster needs a TaskManager, was " + n);
      }
      this.taskManagers = n;
      return this;
    }

    /** Task slots per TaskManager; default 2. */
    public Builder slots(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("A TaskManager needs at least one slot, was " + n);
      }
      this.slots = n;
      return this;
    }

    /** Task heap of each TaskManager in MiB (the JVM heap adds 64 MiB framework); default 256. */
    public Builder taskHeapMb(int mb) {
      if (mb < 64) {
        throw new IllegalArgumentException("Task heap must be at least 64 MiB, was " + mb);
      }
      this.taskHeapMb = mb;
      return this;
    }

    /** JobManager heap in MiB; default 384. */
    public Builder jobManagerHeapMb(int mb) {
      if (mb < 128) {
        throw new IllegalArgumentException("JobManager heap must be at least 128 MiB, was " + mb);
      }
      this.jobManagerHeapMb = mb;
      return this;
    }

    /**
     * Class path of the Flink JVMs (flink-runtime, flink-clients, flink-streaming-java,
     * flink-runtime-web and a logging backend); default: this JVM's class path. It must not hold
     * the job's own classes.
     */
    public Builder classpath(String classpath) {
      this.classpath = Objects.requireNonNull(classpath, "classpath");
      return this;
    }

    /** Overrides or adds a Flink configuration key. */
    public Builder property(String key, String value) {
      overrides.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /**
     * Adds a JVM option to every node (JobManager, its restarts, TaskManagers), after the memory
     * limits: e.g. {@code -XX:TieredStopAtLevel=1}, which starts a short-lived test cluster with
     * less CPU on a small machine; none by default.
     */
    public Builder jvmOption(String option) {
      extraJvmOptions.add(Objects.requireNonNull(option, "option"));
      return this;
    }

    /** How long {@link #start()} waits for the cluster; default 180 s. */
    public Builder startTimeout(Duration timeout) {
      this.startTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    public FlinkSessionProcesses build() {
      return new FlinkSessionProcesses(this);
    }
  }
}
