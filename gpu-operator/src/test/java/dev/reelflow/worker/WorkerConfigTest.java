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
            + "s3.secret-key=hunter2\nheartbeat.interval.ms=1000\n");
    WorkerConfig c =
        WorkerConfig.load(
            file,
            Map.of(
                "REELFLOW_WORKER_HEARTBEAT_INTERVAL_MS", "2000",
                "REELFLOW_WORKER_ENGINE_COMMAND_TIMEOUT_MS", "99",
                "REELFLOW_WORKER_KAFKA_SECURITY_PROTOCOL", "SSL",
                "PATH", "/bin"),
            Map.of(WorkerConfig.SLOTS, "3"));

    assertThat(c.pool()).isEqualTo(Stage.UPSCALE);
    assertThat(c.heartbeatInterval().toMillis()).isEqualTo(2000);
    assertThat(c.slots()).isEqualTo(3);
    assertThat(c.engineOptions("command"))
        .containsEntry("command", "run {prompt}")
        .containsEntry("timeout-ms", "99");
    assertThat(c.kafkaOverrides()).containsEntry("security.protocol", "SSL");
    assertThat(c.describe()).contains("s3.secret-key = ********").doesNotContain("hunter2");
    assertThat(c.drainGrace().toMillis()).isEqualTo(30000);
  }

  @Test
  void rejectsUnknownKeysBadValuesAndMissingConnectionsWithTheKeyName() {
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("heartbeat.interval", "5")))
        .hasMessageContaining("unknown worker config key 'heartbeat.interval'");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.POOL, "vsr")))
        .hasMessageContaining("worker.pool must be base or upscale");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.HEARTBEAT_INTERVAL_MS, "0")))
        .hasMessageContaining("heartbeat.interval.ms must be > 0");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.VIDEO_ENCODER, "libx264")))
        .hasMessageContaining("video.encoder");
    assertThatThrownBy(
            () -> WorkerConfig.load(null, Map.of("REELFLOW_WORKER_BOGUS", "1"), Map.of()))
        .hasMessageContaining("REELFLOW_WORKER_BOGUS");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of()).requireConnections())
        .hasMessageContaining("bootstrap.servers")
        .hasMessageContaining("REELFLOW_WORKER_BOOTSTRAP_SERVERS");
  }

  @Test
  void modelDirReachesTheNativeEngineUnlessItsOwnOptionSetsIt() {
    WorkerConfig c = WorkerMain.parse(new String[] {"--model-dir", "ckpts/hv15"}, Map.of());
    assertThat(c.get(WorkerConfig.MODEL_DIR)).isEqualTo("ckpts/hv15");
    assertThat(c.engineOptions("native")).containsEntry("model-dir", "ckpts/hv15");
    WorkerConfig own =
        WorkerConfig.of(Map.of(WorkerConfig.MODEL_DIR, "a", "engine.native.model-dir", "b"));
    assertThat(own.engineOptions("native")).containsEntry("model-dir", "b");
    assertThat(WorkerConfig.of(Map.of()).engineOptions("native")).doesNotContainKey("model-dir");
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
              "engine.emulated.step-ms=5"
            },
            Map.of());
    assertThat(c.engine()).isEqualTo("emulated");
    assertThat(c.slots()).isEqualTo(2);
    assertThat(c.engineOptions("emulated")).containsEntry("step-ms", "5");
    assertThatThrownBy(() -> WorkerMain.parse(new String[] {"--set", "novalue"}, Map.of()))
        .hasMessageContaining("key=value");
  }

  @Test
  void backendSpreadsCudaSlotsOverTheGpusAndRefusesUnknownForms() {
    assertThat(WorkerConfig.of(Map.of()).backend(0)).isEqualTo(BackendSpec.cpu());
    WorkerConfig cuda =
        WorkerConfig.of(Map.of(WorkerConfig.BACKEND, "cuda:2", WorkerConfig.SLOTS, "3"));
    assertThat(cuda.backend(0)).isEqualTo(BackendSpec.cuda(2));
    assertThat(cuda.backend(2)).isEqualTo(BackendSpec.cuda(4));
    assertThat(
            WorkerConfig.of(Map.of(WorkerConfig.BACKEND, "torch", WorkerConfig.SLOTS, "2"))
                .backend(1))
        .isEqualTo(BackendSpec.torch());
    assertThatThrownBy(() -> WorkerConfig.of(Map.of(WorkerConfig.BACKEND, "gpu")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("backend")
        .hasMessageContaining("cuda:N");
  }
}
