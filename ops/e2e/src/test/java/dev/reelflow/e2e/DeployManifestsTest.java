package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.orchestrator.OrchestratorSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Validates the Kubernetes manifests and Dockerfiles under ops/deploy: every YAML document parses
 * and has its required fields, the kustomization names only files that exist, workloads declare
 * resources and probes, GPU workers request a GPU, and the images are pinned.
 */
class DeployManifestsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Path DEPLOY = Path.of("..", "deploy");
  private static final Path ROOT = Path.of("..", "..");
  private static final List<JsonNode> DOCUMENTS = new ArrayList<>();

  @BeforeAll
  static void parseAll() throws IOException {
    try (Stream<Path> files = Files.walk(DEPLOY)) {
      for (Path file : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        DOCUMENTS.addAll(parse(file));
      }
    }
  }

  static List<JsonNode> parse(Path file) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (YAMLParser parser = new YAMLFactory().createParser(file.toFile())) {
      for (JsonNode doc : YAML.readValues(parser, JsonNode.class).readAll()) {
        if (doc != null && !doc.isNull() && !(doc instanceof MissingNode)) {
          docs.add(doc);
        }
      }
    }
    return docs;
  }

  private static List<JsonNode> ofKind(String kind) {
    return DOCUMENTS.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
  }

  @Test
  void everyDocumentHasApiVersionKindAndName() {
    assertThat(DOCUMENTS).hasSizeGreaterThan(20);
    for (JsonNode doc : DOCUMENTS) {
      assertThat(doc.path("apiVersion").asText()).as("apiVersion of %s", doc).isNotEmpty();
      assertThat(doc.path("kind").asText()).as("kind of %s", doc).isNotEmpty();
      if (!"Kustomization".equals(doc.path("kind").asText())) {
        assertThat(doc.path("metadata").path("name").asText()).as("name of %s", doc).isNotEmpty();
      }
    }
  }

  @Test
  void kustomizationListsExistingFilesAndAllOfThem() throws IOException {
    Path base = DEPLOY.resolve("base");
    JsonNode kustomization = parse(base.resolve("kustomization.yaml")).get(0);
    List<String> resources = new ArrayList<>();
    kustomization.path("resources").forEach(r -> resources.add(r.asText()));
    for (String resource : resources) {
      assertThat(base.resolve(resource)).as("resource %s", resource).isRegularFile();
    }
    try (Stream<Path> files = Files.list(base)) {
      List<String> yamls =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml"))
              .toList();
      assertThat(resources).containsExactlyInAnyOrderElementsOf(yamls);
    }
    for (JsonNode generator : kustomization.path("configMapGenerator")) {
      for (JsonNode file : generator.path("files")) {
        String path = file.asText().substring(file.asText().indexOf('=') + 1);
        Path json = base.resolve(path);
        assertThat(json).isRegularFile();
        assertThat(new ObjectMapper().readTree(json.toFile()).path("panels").size())
            .as("dashboard panels")
            .isGreaterThan(3);
      }
    }
  }

  @Test
  void workloadsDeclareResourcesProbesAndPinnedImages() {
    List<JsonNode> workloads = new ArrayList<>(ofKind("Deployment"));
    workloads.addAll(ofKind("StatefulSet"));
    assertThat(workloads).hasSizeGreaterThanOrEqualTo(4);
    for (JsonNode workload : workloads) {
      String name = workload.path("metadata").path("name").asText();
      JsonNode labels = workload.path("spec").path("selector").path("matchLabels");
      JsonNode podLabels = workload.path("spec").path("template").path("metadata").path("labels");
      assertThat(labels.size()).as("selector of %s", name).isPositive();
      labels
          .fields()
          .forEachRemaining(
              e ->
                  assertThat(podLabels.path(e.getKey()))
                      .as("pod label %s of %s", e.getKey(), name)
                      .isEqualTo(e.getValue()));
      for (JsonNode container :
          workload.path("spec").path("template").path("spec").path("containers")) {
        assertThat(container.path("image").asText()).as("image of %s", name).isNotEmpty();
        assertThat(container.path("image").asText()).doesNotEndWith(":latest");
        assertThat(container.path("resources").path("requests").size())
            .as("resource requests of %s", name)
            .isPositive();
        assertThat(container.has("readinessProbe") || container.has("livenessProbe"))
            .as("a probe on %s", name)
            .isTrue();
      }
    }
  }

  @Test
  void gpuWorkersRequestOneGpuAndAreAutoscaledOnBacklog() {
    List<JsonNode> workers =
        ofKind("Deployment").stream()
            .filter(d -> d.path("metadata").path("name").asText().endsWith("-workers"))
            .toList();
    assertThat(workers).hasSize(2);
    List<String> scaled = new ArrayList<>();
    ofKind("ScaledObject")
        .forEach(s -> scaled.add(s.path("spec").path("scaleTargetRef").path("name").asText()));
    for (JsonNode worker : workers) {
      JsonNode container =
          worker.path("spec").path("template").path("spec").path("containers").get(0);
      assertThat(container.path("resources").path("limits").path("nvidia.com/gpu").asInt())
          .isEqualTo(1);
      assertThat(scaled).contains(worker.path("metadata").path("name").asText());
    }
    for (JsonNode scaler : ofKind("ScaledObject")) {
      assertThat(
              scaler.path("spec").path("triggers").get(0).path("metadata").path("query").asText())
          .contains("scheduler_pool_backlog");
    }
  }

  @Test
  void kafkaIsKraftWithReplicationThreeAndTopicsAreDeclared() {
    JsonNode kafka = ofKind("Kafka").get(0);
    assertThat(kafka.path("metadata").path("annotations").path("strimzi.io/kraft").asText())
        .isEqualTo("enabled");
    JsonNode config = kafka.path("spec").path("kafka").path("config");
    assertThat(config.path("default.replication.factor").asInt()).isEqualTo(3);
    assertThat(config.path("min.insync.replicas").asInt()).isEqualTo(2);
    List<String> topics = new ArrayList<>();
    ofKind("KafkaTopic").forEach(t -> topics.add(t.path("spec").path("topicName").asText()));
    assertThat(topics)
        .contains(
            "render.requests",
            "render.commands",
            "render.tasks.base",
            "render.tasks.upscale",
            "render.stage-events",
            "render.worker-events",
            "render.status",
            "render.lineage",
            "render.dlq",
            "render.schedules");
    for (JsonNode topic : ofKind("KafkaTopic")) {
      String name = topic.path("spec").path("topicName").asText();
      String policy = topic.path("spec").path("config").path("cleanup.policy").asText();
      assertThat(policy)
          .as("cleanup policy of %s", name)
          .isEqualTo(
              Map.of("render.status", "compact", "render.schedules", "compact")
                  .getOrDefault(name, "delete"));
    }
  }

  @Test
  void orchestratorRunsTheJobJarWithCheckpointsAndHa() {
    JsonNode flink = ofKind("FlinkDeployment").get(0);
    JsonNode conf = flink.path("spec").path("flinkConfiguration");
    assertThat(conf.path("state.checkpoints.dir").asText()).startsWith("s3://");
    assertThat(conf.path("high-availability.type").asText()).isEqualTo("kubernetes");
    assertThat(flink.path("spec").path("job").path("jarURI").asText())
        .endsWith("reelflow-orchestrator.jar");
  }

  /**
   * The orchestrator's container gets its settings from the shared ConfigMap and Secret under the
   * names it reads, so it logs no old-name warning and finds the S3 endpoint of schedule sources.
   */
  @Test
  void orchestratorReadsTheSharedSettingsUnderTheirCurrentNames() {
    JsonNode container =
        ofKind("FlinkDeployment")
            .get(0)
            .path("spec")
            .path("podTemplate")
            .path("spec")
            .path("containers")
            .get(0);
    Map<String, String> env = new LinkedHashMap<>();
    for (JsonNode from : container.path("envFrom")) {
      String configMap = from.path("configMapRef").path("name").asText(null);
      String secret = from.path("secretRef").path("name").asText(null);
      JsonNode source =
          configMap != null
              ? named("ConfigMap", configMap).path("data")
              : named("Secret", secret).path("stringData");
      source.fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
    }
    for (JsonNode e : container.path("env")) {
      env.put(e.path("name").asText(), e.path("value").asText("from " + e.path("valueFrom")));
    }
    ConfigValues values = OrchestratorSettings.SPEC.load(null, env, Map.of());
    assertThat(values.warnings()).isEmpty();
    assertThat(values.get(OrchestratorSettings.S3_ENDPOINT))
        .isEqualTo("http://reelflow-minio:9000");
    assertThat(values.get(OrchestratorSettings.S3_SECRET_KEY)).isNotBlank();
    assertThat(values.get(OrchestratorSettings.BOOTSTRAP_SERVERS))
        .isEqualTo("reelflow-kafka-bootstrap:9092");
  }

  private static JsonNode named(String kind, String name) {
    return ofKind(kind).stream()
        .filter(d -> name.equals(d.path("metadata").path("name").asText()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  /**
   * A restart of the FlinkDeployment resumes the job's state: savepoint upgrades with the
   * last-state fallback, retained checkpoints, HA, failed jobs restarted from their last state.
   */
  @Test
  void orchestratorRestartsRestoreTheJobsState() {
    JsonNode flink = ofKind("FlinkDeployment").get(0);
    JsonNode conf = flink.path("spec").path("flinkConfiguration");
    JsonNode job = flink.path("spec").path("job");
    assertThat(job.path("upgradeMode").asText()).isIn("savepoint", "last-state");
    assertThat(job.path("state").asText()).isEqualTo("running");
    assertThat(conf.path("state.savepoints.dir").asText()).startsWith("s3://");
    assertThat(conf.path("high-availability.storageDir").asText()).startsWith("s3://");
    assertThat(conf.path("execution.checkpointing.externalized-checkpoint-retention").asText())
        .isEqualTo("RETAIN_ON_CANCELLATION");
    assertThat(conf.path("execution.checkpointing.num-retained").asInt())
        .as("a cut-off newest checkpoint leaves one to fall back to")
        .isGreaterThanOrEqualTo(2);
    assertThat(conf.path("kubernetes.operator.job.upgrade.last-state-fallback.enabled").asText())
        .isEqualTo("true");
    assertThat(conf.path("kubernetes.operator.job.restart.failed").asText()).isEqualTo("true");
    // No fixed restore path: it would win over newer state at every restart.
    assertThat(job.has("initialSavepointPath")).isFalse();
    assertThat(conf.has("execution.state-recovery.path")).isFalse();
  }

  @Test
  void dockerfilesArePinnedNonRootAndCopyBuildOutputs() throws IOException {
    try (Stream<Path> files = Files.list(DEPLOY.resolve("docker"))) {
      List<Path> dockerfiles = files.filter(p -> p.toString().endsWith(".Dockerfile")).toList();
      assertThat(dockerfiles).hasSize(3);
      for (Path dockerfile : dockerfiles) {
        List<String> lines = Files.readAllLines(dockerfile);
        List<String> from = lines.stream().filter(l -> l.startsWith("FROM ")).toList();
        assertThat(from).as("FROM in %s", dockerfile).isNotEmpty();
        for (String line : from) {
          String image = line.substring(5).trim().split("\\s+")[0];
          assertThat(image).as("pinned base image in %s", dockerfile).contains(":");
          assertThat(image).doesNotEndWith(":latest");
        }
        assertThat(lines.stream().filter(l -> l.startsWith("USER ")))
            .as("USER in %s", dockerfile)
            .isNotEmpty()
            .noneMatch(l -> l.trim().equals("USER root"));
        for (String line : lines) {
          if (line.startsWith("COPY ") && !line.contains("--from")) {
            String source = line.substring(5).trim().split("\\s+")[0];
            if (source.contains("/target/")) {
              // Build outputs (target/) of modules that exist in this repository.
              String module = source.substring(0, source.indexOf("/target/"));
              assertThat(ROOT.resolve(module).resolve("pom.xml"))
                  .as("module of %s", source)
                  .isRegularFile();
            } else {
              assertThat(ROOT.resolve(source)).as("file copied by %s", dockerfile).isRegularFile();
            }
          }
        }
      }
    }
  }

  @Test
  void kustomizeRendersWhereABinaryExists() throws Exception {
    String binary =
        Stream.of("kustomize", "kubectl")
            .filter(
                b ->
                    Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
                        .anyMatch(dir -> Files.isExecutable(Path.of(dir, b))))
            .findFirst()
            .orElse(null);
    Assumptions.assumeTrue(binary != null, "no kustomize or kubectl binary: dry render skipped");
    List<String> command =
        binary.equals("kustomize")
            ? List.of("kustomize", "build", DEPLOY.resolve("base").toString())
            : List.of("kubectl", "kustomize", DEPLOY.resolve("base").toString());
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    assertThat(output).contains("kind: FlinkDeployment");
  }
}
