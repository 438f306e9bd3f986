package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.schemas.avro.Stage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerConfigTest {

  @TempDir Path dir;

  @Test
  void fileThenEnvironmentThenOverridesWithSecretsMasked() throws Exception {
    Path file = dir.resolve("worker.properties");
    Files.writeString(
        file,
        "worker.pool=upscale\nengine=command\nengine.command.command=run {prompt}\n"
            + "s3.secret-key=hunter2\nheartbeat.interval=1s\n");
    WorkerConfig c =
        WorkerConfig.load(
            file,
            Map.of(
                "REELFLOW_HEARTBEAT_INTERVAL", "2s",
                "REELFLOW_ENGINE_COMMAND_TIMEOUT", "99ms",
                "REELFLOW_KAFKA_SECURITY_PROTOCOL", "SSL",
                "REELFLOW_INGEST_PORT", "8080",
                "PATH", "/bin"),
            Map.of(WorkerConfig.SLOTS.name(), "3"));

    assertThat(c.pool()).isEqualTo(Stage.UPSCALE);
    assertThat(c.heartbeatInterval().toMillis()).isEqualTo(2000);
    assertThat(c.slots()).isEqualTo(3);
    assertThat(c.engineOptions("command", CommandEngine.OPTIONS))
        .containsEntry("command", "run {prompt}")
        .containsEntry("timeout", "99ms");
    assertThat(c.kafkaOverrides()).containsEntry("security.protocol", "SSL");
    assertThat(c.describe()).contains("s3.secret-key = ********").doesNotContain("hunter2");
    assertThat(c.drainGrace().toMillis()).isEqualTo(30000);
    assertThat(c.warnings()).isEmpty();
  }

  @Test
  void oldNamesAndTheOldVariablePrefixAreReadForOneReleaseWithAWarning() throws Exception {
    Path file = dir.resolve("old.properties");
    Files.writeString(file, "bootstrap.servers=k:9092\ndrain.grace.ms=800\nmodel.dir=ckpt\n");
    WorkerConfig c =
        WorkerConfig.load(
            file,
            Map.of(
                "REELFLOW_WORKER_HEARTBEAT_INTERVAL_MS", "250",
                "REELFLOW_WORKER_ENGINE_EMULATED_STEP_MS", "5"),
            Map.of());
    assertThat(c.bootstrapServers()).isEqualTo("k:9092");
    assertThat(c.drainGrace().toMillis()).isEqualTo(800);
    assertThat(c.heartbeatInterval().toMillis()).isEqualTo(250);
    assertThat(c.engineOptions("emulated", EmulatedEngine.OPTIONS)).containsEntry("step-ms", "5");
    assertThat(c.get(WorkerConfig.MODEL_DIR)).isEqualTo("ckpt");
    assertThat(c.kafkaOverrides()).doesNotContainKey("bootstrap.servers");
    assertThat(c.warnings())
        .anySatisfy(w -> assertThat(w).contains("use kafka.bootstrap.servers"))
        .anySatisfy(w -> assertThat(w).contains("use drain.grace"))
        .anySatisfy(w -> assertThat(w).contains("use REELFLOW_HEARTBEAT_INTERVAL"))
        .anySatisfy(w -> assertThat(w).contains("use REELFLOW_ENGINE_EMULATED_STEP_MS"));
  }

  @Test
  void rejectsUnknownKeysBadValuesAndMissingConnectionsWithTheKeyName() {
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("heartbeat.intervall", "5s")))
        .hasMessageContaining("unknown worker setting 'heartbeat.intervall'")
        .hasMessageContaining("did you mean 'heartbeat.interval'?");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.POOL.name(), "vsr")))
        .hasMessageContaining("worker.pool")
        .hasMessageContaining("expected one of [base, upscale]");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.HEARTBEAT_INTERVAL.name(), "0")))
        .hasMessageContaining("heartbeat.interval must be > 0");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.HEARTBEAT_INTERVAL.name(), "500")))
        .hasMessageContaining("e.g. 500ms or 30s");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.VIDEO_ENCODER.name(), "libx264")))
        .hasMessageContaining("video.encoder");
    assertThatThrownBy(
            () -> WorkerConfig.load(null, Map.of("REELFLOW_WORKER_SLOTS", "0"), Map.of()))
        .hasMessageContaining("worker.slots must be in 1..64")
        .hasMessageContaining("REELFLOW_WORKER_SLOTS");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of()).requireConnections())
        .hasMessageContaining("kafka.bootstrap.servers")
        .hasMessageContaining("REELFLOW_KAFKA_BOOTSTRAP_SERVERS");
  }

  @Test
  void modelDirReachesTheNativeEngineUnlessItsOwnOptionSetsIt() {
    WorkerConfig c = WorkerMain.parse(new String[] {"--model-dir", "ckpts/hv15"}, Map.of());
    assertThat(c.get(WorkerConfig.MODEL_DIR)).isEqualTo("ckpts/hv15");
    assertThat(c.engineOptions("native", NativeEngine.OPTIONS))
        .containsEntry("model-dir", "ckpts/hv15");
    assertThat(c.engineOptions("emulated", EmulatedEngine.OPTIONS))
        .as("an engine without the option does not get it")
        .doesNotContainKey("model-dir");
    WorkerConfig own =
        WorkerConfig.of(Map.of(WorkerConfig.MODEL_DIR.name(), "a", "engine.native.model-dir", "b"));
    assertThat(own.engineOptions("native", NativeEngine.OPTIONS)).containsEntry("model-dir", "b");
    assertThat(WorkerConfig.of(Map.of()).engineOptions("native", NativeEngine.OPTIONS))
        .doesNotContainKey("model-dir");
  }

  @Test
  void engineDefaultsToNativeNeverEmulated() {
    assertThat(WorkerConfig.of(Map.of()).engine()).isEqualTo("native");
  }

  @Test
  void mainParsesArguments() {
    WorkerConfig c =
        WorkerMain.parse(
            new String[] {
              "--pool",
              "base",
              "--engine",
              "emulated",
              "--slots",
              "2",
              "--set",
              "engine.emulated.step=5ms"
            },
            Map.of());
    assertThat(c.engine()).isEqualTo("emulated");
    assertThat(c.slots()).isEqualTo(2);
    assertThat(c.engineOptions("emulated", EmulatedEngine.OPTIONS)).containsEntry("step", "5ms");
    assertThatThrownBy(() -> WorkerMain.parse(new String[] {"--set", "novalue"}, Map.of()))
        .hasMessageContaining("key=value");
  }

  @Test
  void backendSpreadsCudaSlotsOverTheGpusAndRefusesUnknownForms() {
    assertThat(WorkerConfig.of(Map.of()).backend(0)).isEqualTo(BackendSpec.cpu());
    WorkerConfig cuda =
        WorkerConfig.of(
            Map.of(WorkerConfig.BACKEND.name(), "cuda:2", WorkerConfig.SLOTS.name(), "3"));
    assertThat(cuda.backend(0)).isEqualTo(BackendSpec.cuda(2));
    assertThat(cuda.backend(2)).isEqualTo(BackendSpec.cuda(4));
    assertThat(
            WorkerConfig.of(
                    Map.of(WorkerConfig.BACKEND.name(), "torch", WorkerConfig.SLOTS.name(), "2"))
                .backend(1))
        .isEqualTo(BackendSpec.torch());
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.BACKEND.name(), "gpu")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("backend")
        .hasMessageContaining("cuda:N");
  }
}
