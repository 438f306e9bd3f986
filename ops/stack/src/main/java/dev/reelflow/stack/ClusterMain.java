package dev.reelflow.stack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Command line of the ops/cluster scripts: starts or stops the parts of the distributed mode as
 * separate JVMs, each in its own directory. {@code start} returns once the part is up, prints its
 * addresses as {@code key=value} lines and leaves the processes running; {@code stop} finds them
 * again through {@code DIR/cluster.properties} (stopping twice is fine).
 *
 * <pre>
 * kafka start DIR [--brokers N]        three brokers by default (replication 3, min ISR 2)
 * kafka stop DIR
 * flink start DIR [--taskmanagers N] [--slots N]
 * flink stop DIR
 * flink submit DIR JAR [--class C] [PROGRAM ARGS...]
 * flink await DIR JOB_ID [--timeout-seconds S]
 * registry start DIR --bootstrap-servers B [--port N]
 * s3 start DIR [--port N]
 * ingest start DIR --classpath CP [--config FILE] [--port N] [--heap SIZE]
 * workers start DIR --classpath CP --pool base|upscale [--count N] [--config FILE]
 *               [--engine NAME] [--backend cpu|torch|cuda[:N]] [--heap SIZE] [--set key=value]...
 * registry|s3|ingest|workers stop DIR
 * status DIR                            processes recorded in DIR and its subdirectories
 * describe FILE [key=value]...          writes FILE as nested JSON (the shape of local.json)
 * </pre>
 *
 * <p>The registry and the S3 endpoint run {@link LocalStackMain} on this JVM's class path; ingest
 * and the workers run the {@code reelflow} command ({@value #CLI_MAIN}) on the class path given
 * with {@code --classpath} (the ops/cli build), so this module needs none of their code.
 */
public final class ClusterMain {
  static final String CLI_MAIN = "dev.reelflow.cli.ReelflowCli";
  private static final String HOST = "127.0.0.1";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(240);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String USAGE =
      String.join(
          "\n",
          "Usage: ClusterMain kafka start DIR [--brokers N] | kafka stop DIR",
          "       ClusterMain flink start DIR [--taskmanagers N] [--slots N] | flink stop DIR",
          "       ClusterMain flink submit DIR JAR [--class C] [PROGRAM ARGS...]",
          "       ClusterMain flink await DIR JOB_ID [--timeout-seconds S]",
          "       ClusterMain registry start DIR --bootstrap-servers B [--port N]",
          "       ClusterMain s3 start DIR [--port N]",
          "       ClusterMain ingest start DIR --classpath CP [--config FILE] [--port N]"
              + " [--heap SIZE]",
          "       ClusterMain workers start DIR --classpath CP --pool base|upscale [--count N]"
              + " [--config FILE] [--engine NAME] [--backend cpu|torch|cuda[:N]] [--heap SIZE]"
              + " [--set key=value]...",
          "       ClusterMain registry|s3|ingest|workers stop DIR",
          "       ClusterMain status DIR",
          "       ClusterMain describe FILE [key=value]...",
          "       ClusterMain describe-update FILE [key=value]...   (over the file's values)",
          "       ClusterMain flink restart-jobmanager DIR");

  private ClusterMain() {}

  public static void main(String[] args) {
    if (args.length < 2) {
      System.err.println(USAGE);
      System.exit(2);
    }
    QuietLogging.applyIfUnconfigured();
    try {
      if (args[0].equals("status")) {
        System.exit(status(Path.of(args[1]).toAbsolutePath()));
      }
      if (args[0].equals("describe")) {
        describe(Path.of(args[1]), Arrays.asList(args).subList(2, args.length));
        return;
      }
      if (args[0].equals("describe-update")) {
        Path file = Path.of(args[1]);
        List<String> entries = new ArrayList<>();
        if (Files.exists(file)) {
          try {
            flatten(JSON.readTree(file.toFile())).forEach((k, v) -> entries.add(k + "=" + v));
          } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
          }
        }
        entries.addAll(Arrays.asList(args).subList(2, args.length));
        describe(file, entries);
        return;
      }
      if (args.length < 3) {
        throw new IllegalArgumentException("missing DIR");
      }
      Path dir = Path.of(args[2]).toAbsolutePath();
      List<String> rest = new ArrayList<>(Arrays.asList(args).subList(3, args.length));
      run(args[0], args[1], dir, rest);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
    } catch (StackException | UncheckedIOException e) {
      System.err.println(e.getMessage());
      System.exit(1);
    }
  }

  private static void run(String component, String command, Path dir, List<String> rest) {
    switch (component + " " + command) {
      case "kafka start" -> {
        KafkaClusterProcesses cluster =
            KafkaClusterProcesses.builder(dir).brokers(intOption(rest, "--brokers", 3)).build();
        cluster.start();
        System.out.println("bootstrap.servers=" + cluster.bootstrapServers());
      }
      case "kafka stop" ->
          System.out.println("stopped " + KafkaClusterProcesses.stopRecorded(dir) + " brokers");
      case "flink start" -> {
        FlinkSessionProcesses.Builder builder =
            FlinkSessionProcesses.builder(dir)
                .taskManagers(intOption(rest, "--taskmanagers", 2))
                .slots(intOption(rest, "--slots", 2));
        // --set key=value: a Flink configuration key (e.g. heartbeat.timeout), repeatable.
        for (int i = 0; i + 1 < rest.size(); i++) {
          if (rest.get(i).equals("--set")) {
            String kv = rest.get(i + 1);
            int eq = kv.indexOf('=');
            if (eq <= 0) {
              throw new IllegalArgumentException("--set needs key=value, got '" + kv + "'");
            }
            builder.property(kv.substring(0, eq), kv.substring(eq + 1));
          }
        }
        FlinkSessionProcesses cluster = builder.build();
        cluster.start();
        System.out.println("rest.url=" + cluster.restUrl());
        System.out.println("metrics.urls=" + String.join(",", cluster.metricsUrls()));
      }
      case "flink restart-jobmanager" -> {
        // Without HA a restarted JobManager knows no job: the caller submits the orchestrator
        // again when jobs.running is empty (it then restores its newest retained checkpoint).
        long pid =
            FlinkSessionProcesses.restartRecordedJobManager(
                dir, Duration.ofSeconds(intOption(rest, "--timeout-seconds", 120)));
        System.out.println("jobmanager.pid=" + pid);
        List<String> running = new ArrayList<>();
        for (String[] job :
            FlinkSessionProcesses.jobs(FlinkSessionProcesses.recordedRestUrl(dir))) {
          if (job[2].equals("RUNNING") || job[2].equals("RESTARTING") || job[2].equals("CREATED")) {
            running.add(job[0]);
          }
        }
        System.out.println("jobs.running=" + String.join(",", running));
      }
      case "flink stop" ->
          System.out.println(
              "stopped " + FlinkSessionProcesses.stopRecorded(dir) + " Flink processes");
      case "flink submit" -> {
        if (rest.isEmpty()) {
          throw new IllegalArgumentException("flink submit needs the job JAR");
        }
        Path jar = Path.of(rest.remove(0));
        String entry = "dev.reelflow.orchestrator.OrchestratorJob";
        if (rest.size() >= 2 && rest.get(0).equals("--class")) {
          entry = rest.get(1);
          rest = new ArrayList<>(rest.subList(2, rest.size()));
        }
        String jobId =
            FlinkSessionProcesses.submitJar(
                FlinkSessionProcesses.recordedRestUrl(dir), jar, entry, rest);
        System.out.println("job.id=" + jobId);
      }
      case "flink await" -> {
        if (rest.isEmpty()) {
          throw new IllegalArgumentException("flink await needs the job id");
        }
        String jobId = rest.remove(0);
        FlinkSessionProcesses.awaitJobRunning(
            FlinkSessionProcesses.recordedRestUrl(dir),
            jobId,
            Duration.ofSeconds(intOption(rest, "--timeout-seconds", 240)));
        System.out.println("job.state=RUNNING");
      }
      case "registry start" -> startRegistry(dir, rest);
      case "s3 start" -> startS3(dir, rest);
      case "ingest start" -> startIngest(dir, rest);
      case "workers start" -> startWorkers(dir, rest);
      case "registry stop", "s3 stop", "ingest stop", "workers stop" ->
          System.out.println(
              "stopped " + ServiceProcesses.stopRecorded(dir) + " " + component + " processes");
      default -> throw new IllegalArgumentException("unknown command " + component + " " + command);
    }
  }

  /** The schema registry server in its own JVM, storing its schemas in the given cluster. */
  private static void startRegistry(Path dir, List<String> rest) {
    String bootstrap = option(rest, "--bootstrap-servers", null);
    if (bootstrap == null) {
      throw new IllegalArgumentException("registry start needs --bootstrap-servers");
    }
    int port = intOption(rest, "--port", 0);
    Map<String, String> info =
        startStackService(
            dir,
            "registry",
            List.of(
                "--services",
                "registry",
                "--bootstrap-servers",
                bootstrap,
                "--registry-port",
                Integer.toString(port > 0 ? port : FreePorts.pick())));
    print("schema.registry.url", info.get("schemaRegistry.url"));
  }

  /** The S3 endpoint (S3Proxy, filesystem backend under DIR) in its own JVM. */
  private static void startS3(Path dir, List<String> rest) {
    int port = intOption(rest, "--port", 0);
    Map<String, String> info =
        startStackService(
            dir,
            "s3",
            List.of(
                "--services",
                "s3",
                "--s3-port",
                Integer.toString(port > 0 ? port : FreePorts.pick())));
    for (String key : List.of("endpoint", "accessKey", "secretKey", "region", "bucket")) {
      print("s3." + key, info.get("s3." + key));
    }
  }

  /**
   * Runs {@link LocalStackMain} with {@code args} as process {@code name}; it writes {@code
   * DIR/local.json} once its services answer, which is what this waits for.
   */
  private static Map<String, String> startStackService(Path dir, String name, List<String> args) {
    ServiceProcesses processes = ServiceProcesses.create(dir, Duration.ofSeconds(30));
    Path json = dir.resolve("local.json");
    try {
      Files.deleteIfExists(json);
      List<String> all = new ArrayList<>(List.of("--dir", dir.toString()));
      all.addAll(args);
      processes.start(
          name,
          System.getProperty("java.class.path"),
          List.of("-Xmx256m", "-Xms64m"),
          LocalStackMain.class.getName(),
          all,
          Map.of(),
          null);
      processes.awaitFile(name, json, START_TIMEOUT);
      Map<String, String> info = flatten(JSON.readTree(json.toFile()));
      info.forEach(
          (k, v) -> {
            if (!k.contains("secret")) {
              processes.put(k, v);
            }
          });
      return info;
    } catch (IOException e) {
      processes.close();
      throw new UncheckedIOException("Could not start " + name + " in " + dir, e);
    } catch (RuntimeException e) {
      processes.close();
      throw e;
    }
  }

  /**
   * The ingest API ({@code reelflow ingest}) in its own JVM with DIR as working directory: without
   * API keys in its configuration it creates the local tenant in {@code DIR/.reelflow/}, whose key
   * this prints.
   */
  private static void startIngest(Path dir, List<String> rest) {
    String classpath = requiredOption(rest, "--classpath", "ingest start");
    String config = option(rest, "--config", null);
    int port = intOption(rest, "--port", 0);
    port = port > 0 ? port : FreePorts.pick();
    List<String> args = new ArrayList<>(List.of("ingest"));
    if (config != null) {
      args.addAll(List.of("--config", Path.of(config).toAbsolutePath().toString()));
    }
    // The environment wins over the file (IngestConfig), so the chosen port and host apply.
    Map<String, String> env =
        Map.of("REELFLOW_INGEST_PORT", Integer.toString(port), "REELFLOW_INGEST_HOST", HOST);
    ServiceProcesses processes = ServiceProcesses.create(dir, Duration.ofSeconds(30));
    String url = "http://" + HOST + ":" + port;
    try {
      processes.start(
          "ingest",
          classpath,
          List.of("-Xmx" + option(rest, "--heap", "384m")),
          CLI_MAIN,
          args,
          env,
          dir);
      processes.awaitHttpOk("ingest", url + "/readyz", START_TIMEOUT);
      processes.put("api.url", url);
    } catch (RuntimeException e) {
      processes.close();
      throw e;
    }
    print("api.url", url);
    print("console.url", url + "/console/");
    Path tenant = dir.resolve(".reelflow").resolve("tenant").resolve("local.json");
    if (Files.isRegularFile(tenant)) {
      try {
        JsonNode t = JSON.readTree(tenant.toFile());
        print("api.tenant", t.path("tenant").asText());
        print("api.key", t.path("apiKey").asText());
      } catch (IOException e) {
        // Keys come from the configuration: the operator knows them.
      }
    }
  }

  /**
   * The backend of worker {@code i} (1-based): {@code cuda:N} becomes {@code cuda:N+i-1}, one GPU
   * per worker JVM; other values pass through (the worker validates them).
   */
  static String workerBackend(String backend, int i) {
    String b = backend.trim();
    if (b.equals("cuda") || b.matches("cuda:\\d{1,4}")) {
      int base = b.equals("cuda") ? 0 : Integer.parseInt(b.substring(5));
      return "cuda:" + (base + i - 1);
    }
    return b;
  }

  /**
   * {@code --count} workers of one pool ({@code reelflow worker}), each its own JVM with one slot,
   * id {@code <pool>-<i>}, work directory and log under DIR, and its {@code /healthz} on a free
   * port; returns once every one answers. A SIGTERM drains a worker, so stopping waits up to 120 s.
   */
  private static void startWorkers(Path dir, List<String> rest) {
    String classpath = requiredOption(rest, "--classpath", "workers start");
    String pool = requiredOption(rest, "--pool", "workers start");
    if (!pool.equals("base") && !pool.equals("upscale")) {
      throw new IllegalArgumentException("--pool must be base or upscale, was " + pool);
    }
    int count = intOption(rest, "--count", 1);
    if (count < 1) {
      throw new IllegalArgumentException("--count must be at least 1, was " + count);
    }
    String config = option(rest, "--config", null);
    String engine = option(rest, "--engine", null);
    String backend = option(rest, "--backend", null);
    // Upscale frames (1080p, every frame of a clip) are on the heap; the base engine's tensors
    // are off-heap, so its heap stays small.
    String heap = option(rest, "--heap", pool.equals("upscale") ? "2g" : "768m");
    List<String> sets = new ArrayList<>();
    for (int i = 0; i < rest.size(); i++) {
      if (rest.get(i).equals("--set") && i + 1 < rest.size()) {
        sets.add(rest.get(i + 1));
      }
    }
    ServiceProcesses processes = ServiceProcesses.create(dir, Duration.ofSeconds(120));
    Map<String, String> health = new LinkedHashMap<>();
    try {
      for (int i = 1; i <= count; i++) {
        String id = pool + "-" + i;
        int port = FreePorts.pick();
        List<String> args = new ArrayList<>(List.of("worker", "--pool", pool));
        if (config != null) {
          args.addAll(List.of("--config", Path.of(config).toAbsolutePath().toString()));
        }
        if (engine != null) {
          args.addAll(List.of("--engine", engine));
        }
        if (backend != null) {
          args.addAll(List.of("--backend", workerBackend(backend, i)));
        }
        for (String kv :
            List.of(
                "worker.id=" + id,
                "worker.slots=1",
                "metrics.port=" + port,
                "work-dir=" + dir.resolve(id))) {
          args.addAll(List.of("--set", kv));
        }
        // The operator's settings last: they win over the defaults above.
        for (String kv : sets) {
          args.addAll(List.of("--set", kv));
        }
        processes.start(
            id,
            classpath,
            List.of(
                "-Xmx" + heap,
                // The native engine's tensors live off-heap (JavaCPP), whose limits default to the
                // heap size; the worker's own budget (device.memory-bytes) governs them instead.
                "-Dorg.bytedeco.javacpp.maxBytes=0",
                "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"),
            CLI_MAIN,
            args,
            Map.of(),
            null);
        processes.put(id + ".health", "http://" + HOST + ":" + port + "/healthz");
        health.put(id, "http://" + HOST + ":" + port + "/healthz");
      }
      health.forEach((id, url) -> processes.awaitHttpOk(id, url, START_TIMEOUT));
    } catch (RuntimeException e) {
      processes.close();
      throw e;
    }
    health.forEach((id, url) -> print("worker." + id + ".health", url));
  }

  /**
   * Prints every process recorded under {@code dir} (and the jobs of a recorded Flink cluster);
   * returns 0 when all of them run, 1 otherwise.
   */
  private static int status(Path dir) {
    List<ServiceProcesses.RecordedProcess> all = ServiceProcesses.recordedTree(dir);
    boolean ok = !all.isEmpty();
    for (ServiceProcesses.RecordedProcess p : all) {
      String component = dir.relativize(p.dir()).toString();
      System.out.printf(
          "%-16s %-14s pid %-8d %s%n",
          component.isEmpty() ? "." : component,
          p.name(),
          p.pid(),
          p.running() ? "running" : "NOT RUNNING");
      ok &= p.running();
    }
    if (all.isEmpty()) {
      System.out.println("no processes recorded under " + dir);
    }
    for (ServiceProcesses.RecordedProcess p : all) {
      if (p.name().equals("jobmanager") && p.running()) {
        String restUrl = FlinkSessionProcesses.recordedRestUrl(p.dir());
        try {
          for (String[] job : FlinkSessionProcesses.jobs(restUrl)) {
            System.out.printf("%-16s %s %s %s%n", "flink job", job[0], job[2], job[1]);
          }
        } catch (StackException e) {
          System.out.println("flink jobs: " + e.getMessage());
          ok = false;
        }
      }
    }
    return ok ? 0 : 1;
  }

  private static void describe(Path file, List<String> entries) {
    Map<String, String> values = new LinkedHashMap<>();
    for (String kv : entries) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("describe needs key=value entries, got '" + kv + "'");
      }
      values.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    LocalStackInfo info = new LocalStackInfo(values);
    info.writeTo(file);
    System.out.print(info.describe());
  }

  /**
   * Dotted keys of a nested JSON object ({@code {"s3":{"endpoint":..}}} to {@code s3.endpoint}).
   */
  static Map<String, String> flatten(JsonNode node) {
    Map<String, String> out = new LinkedHashMap<>();
    flatten("", node, out);
    return out;
  }

  private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
      }
    } else {
      out.put(prefix, node.asText());
    }
  }

  private static void print(String key, String value) {
    System.out.println(key + "=" + value);
  }

  private static String option(List<String> rest, String name, String fallback) {
    int i = rest.indexOf(name);
    if (i < 0) {
      return fallback;
    }
    if (i + 1 >= rest.size()) {
      throw new IllegalArgumentException(name + " needs a value");
    }
    return rest.get(i + 1);
  }

  private static String requiredOption(List<String> rest, String name, String command) {
    String value = option(rest, name, null);
    if (value == null) {
      throw new IllegalArgumentException(command + " needs " + name);
    }
    return value;
  }

  private static int intOption(List<String> rest, String name, int fallback) {
    String value = option(rest, name, null);
    if (value == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " needs a number, was " + value);
    }
  }
}
