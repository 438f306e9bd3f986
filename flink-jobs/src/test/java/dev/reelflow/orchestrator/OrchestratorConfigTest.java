package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.config.ConfigException;
import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.Setting;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OrchestratorConfigTest {

  @Test
  void defaults() {
    OrchestratorConfig c = OrchestratorConfig.defaults();
    assertThat(c.lease()).isEqualTo(Duration.ofSeconds(4));
    assertThat(c.leaseStallHold()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.taskDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    assertThat(c.eventDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
    assertThat(c.stateBackend()).isEqualTo("rocksdb");
    assertThat(c.exactPositions()).isEqualTo(1000);
    assertThat(c.bucket()).isEqualTo("reelflow");
    assertThat(c.storage().configured()).isFalse();
    assertThat(c.retry()).isEqualTo(new OrchestratorConfig.RetryPolicy(3, 2_000, 120_000, 2.0));
    assertThat(c.bufferTimeout()).isEqualTo(Duration.ofMillis(10));
    assertThat(c.stateRetention()).isEqualTo(Duration.ofDays(7));
    assertThat(c.warnings()).isEmpty();
    assertThat(c.describe())
        .startsWith("orchestrator configuration:")
        .contains("kafka.bootstrap.servers = localhost:9092  (default)");
  }

  @Test
  void environmentOverridesTheFile(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("orchestrator.properties");
    Files.writeString(
        f, "task.lease=45s\nstate.backend=hashmap\nretry.max-attempts=5\ns3.bucket=renders\n");
    OrchestratorConfig c =
        OrchestratorConfig.load(
            f,
            Map.of(
                "REELFLOW_TASK_LEASE", "1m",
                "REELFLOW_DELIVERY_TASKS", "EXACTLY_ONCE",
                "REELFLOW_INGEST_PORT", "8080")); // another process's variable: ignored
    assertThat(c.lease()).isEqualTo(Duration.ofMinutes(1));
    assertThat(c.stateBackend()).isEqualTo("hashmap");
    assertThat(c.retry().maxAttempts()).isEqualTo(5);
    assertThat(c.taskDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
    assertThat(c.bucket()).isEqualTo("renders");
    assertThat(c.storage().bucket()).isEqualTo("renders");
    assertThat(c.warnings()).isEmpty();
    assertThat(c.describe())
        .contains("task.lease = 1m  (environment REELFLOW_TASK_LEASE)")
        .contains("s3.bucket = renders  (file " + f + ")");
  }

  @Test
  void theEnvironmentVariablesKeepTheirNames() {
    // The orchestrator always used REELFLOW_ + the name upper-cased, '.' and '-' as '_'.
    for (Setting<?> s : OrchestratorSettings.SPEC.settings()) {
      assertThat(s.envName())
          .isEqualTo(
              "REELFLOW_" + s.name().toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
      assertThat(s.doc()).as("doc of %s", s.name()).isNotBlank();
    }
    assertThat(ConfigSpec.envName(OrchestratorSettings.DRR_QUANTUM.name()))
        .isEqualTo("REELFLOW_SCHEDULER_DRR_QUANTUM");
    assertThat(OrchestratorSettings.SPEC.markdownTable())
        .contains("| `s3.secret-key` | string |")
        .contains("Formerly `storage.secret-key`");
  }

  @Test
  void oldStorageNamesAreReadWithAWarningNamingTheNewOne(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("orchestrator.properties");
    Files.writeString(
        f,
        "storage.bucket=renders\nstorage.endpoint=http://s3:9000\nstorage.access-key=AK\n"
            + "storage.secret-key=very-secret\n");
    OrchestratorConfig c =
        OrchestratorConfig.load(f, Map.of("REELFLOW_STORAGE_REGION", "eu-west-1"));
    assertThat(c.storage())
        .isEqualTo(
            new OrchestratorConfig.StorageSettings(
                "http://s3:9000", "AK", "very-secret", "eu-west-1", "renders"));
    assertThat(c.warnings())
        .containsExactlyInAnyOrder(
            "storage.access-key (file "
                + f
                + ") is an old name; use s3.access-key"
                + " (the old name is read for one release)",
            "storage.bucket (file "
                + f
                + ") is an old name; use s3.bucket"
                + " (the old name is read for one release)",
            "storage.endpoint (file "
                + f
                + ") is an old name; use s3.endpoint"
                + " (the old name is read for one release)",
            "storage.secret-key (file "
                + f
                + ") is an old name; use s3.secret-key"
                + " (the old name is read for one release)",
            "REELFLOW_STORAGE_REGION is an old variable name; use REELFLOW_S3_REGION"
                + " (setting s3.region)");
    // The secret is masked, the warnings are printed with the values.
    assertThat(c.describe())
        .contains("s3.secret-key = ********  (file " + f + ")")
        .doesNotContain("very-secret")
        .contains("warning: storage.bucket (file " + f + ") is an old name; use s3.bucket");

    OrchestratorConfig built = OrchestratorConfig.builder().set("storage.bucket", "b2").build();
    assertThat(built.bucket()).isEqualTo("b2");
    assertThat(built.warnings()).singleElement().asString().contains("use s3.bucket");
  }

  @Test
  void theTypedBuilderWritesTheCurrentFormsOnly() {
    OrchestratorConfig c =
        OrchestratorConfig.builder()
            .bucket("renders")
            .storage("http://s3:9000", "AK", "SK", "us-east-1")
            .lease(Duration.ofMillis(1500))
            .checkpointInterval(Duration.ofMillis(500))
            .transactionTimeout(Duration.ofMinutes(1))
            .taskDelivery(DeliveryGuarantee.EXACTLY_ONCE)
            .retry(4, Duration.ofMillis(250), Duration.ofSeconds(5), 1.5)
            .expectedDurations(Duration.ofSeconds(90), Duration.ZERO)
            .build();
    assertThat(c.warnings()).isEmpty(); // no ISO-8601, no old names
    assertThat(c.lease()).isEqualTo(Duration.ofMillis(1500));
    assertThat(c.retry()).isEqualTo(new OrchestratorConfig.RetryPolicy(4, 250, 5_000, 1.5));
    assertThat(c.expectedBase()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.describe()).contains("task.lease = 1500ms  (override)");
  }

  @Test
  void isoDurationsAreReadWithAWarningAndBareNumbersRefused(@TempDir Path dir) throws Exception {
    OrchestratorConfig iso = OrchestratorConfig.load(null, Map.of("REELFLOW_TASK_LEASE", "PT1M"));
    assertThat(iso.lease()).isEqualTo(Duration.ofMinutes(1));
    assertThat(iso.warnings())
        .containsExactly(
            "task.lease = PT1M (environment REELFLOW_TASK_LEASE) is ISO-8601; write 1m"
                + " (ISO-8601 is read for one release)");

    // A bare number used to mean seconds; it is refused rather than silently guessed.
    Path f = dir.resolve("orchestrator.properties");
    Files.writeString(f, "checkpoint.interval=10\n");
    assertThatThrownBy(() -> OrchestratorConfig.load(f, Map.of()))
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining("checkpoint.interval: cannot read '10' as duration")
        .hasMessageContaining("a whole number and a unit (ms, s, m, h, d)")
        .hasMessageContaining("(file " + f + ")");
  }

  @Test
  void badValuesNameTheKeyAndWhereTheValueCameFrom() {
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("task.leese", "1s"))
        .isInstanceOf(OrchestratorConfigException.class)
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown orchestrator setting 'task.leese'")
        .hasMessageContaining("did you mean 'task.lease'?");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("task.lease", "soon"))
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining("task.lease: cannot read 'soon' as duration")
        .hasMessageContaining("(override)");
    assertThatThrownBy(
            () -> OrchestratorConfig.load(null, Map.of("REELFLOW_RETRY_MULTIPLIER", "0.5")))
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining("retry.multiplier must be at least 1, got '0.5'")
        .hasMessageContaining("(environment REELFLOW_RETRY_MULTIPLIER)");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("task.lease", "2d"))
        .hasMessageContaining("task.lease must be at most 24h, got '2d'");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("parallelism", "0"))
        .hasMessageContaining("parallelism must be more than 0, got '0'");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("kafka.bootstrap.servers", " "))
        .hasMessageContaining("kafka.bootstrap.servers must be not blank");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("state.backend", "memory"))
        .hasMessageContaining("state.backend: cannot read 'memory' as one of rocksdb, hashmap");
    assertThatThrownBy(() -> OrchestratorConfig.builder().set("delivery.tasks", "twice"))
        .hasMessageContaining("delivery.tasks: cannot read 'twice'")
        .hasMessageContaining("at_least_once, exactly_once");
  }

  @Test
  void theRulesBetweenSettingsNameBothWithTheirSources() {
    assertThatThrownBy(
            () ->
                OrchestratorConfig.builder()
                    .checkpointInterval(Duration.ofMinutes(10))
                    .transactionTimeout(Duration.ofMinutes(15))
                    .build())
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining(
            "kafka.transaction.timeout (15m, override) must be at least twice"
                + " checkpoint.interval (10m, override)");
    // Exactly-once task records wait for a checkpoint; the (short, default) lease must cover it.
    assertThatThrownBy(
            () ->
                OrchestratorConfig.load(
                    null,
                    Map.of(
                        "REELFLOW_DELIVERY_TASKS", "exactly_once",
                        "REELFLOW_CHECKPOINT_INTERVAL", "10s")))
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining(
            "task.lease (4s, default) must be more than twice checkpoint.interval (10s,"
                + " environment REELFLOW_CHECKPOINT_INTERVAL) when delivery.tasks is"
                + " exactly_once");
    // At-least-once events have no transaction: no rule on the timeout.
    assertThat(
            OrchestratorConfig.builder()
                .eventDelivery(DeliveryGuarantee.AT_LEAST_ONCE)
                .checkpointInterval(Duration.ofMinutes(10))
                .transactionTimeout(Duration.ofMinutes(15))
                .build()
                .transactionTimeout())
        .isEqualTo(Duration.ofMinutes(15));
    assertThatThrownBy(
            () -> TransactionTimingRules.checkBrokerLimit(Duration.ofMinutes(10), 300_000))
        .isInstanceOf(OrchestratorConfigException.class)
        .hasMessageContaining(
            "kafka.transaction.timeout (10m) exceeds the broker's transaction.max.timeout.ms"
                + " (300000 ms)");
  }

  @Test
  void theConfigTheOperatorsCarrySurvivesSerialization() throws Exception {
    OrchestratorConfig c =
        OrchestratorConfig.builder()
            .bucket("renders")
            .set("s3.endpoint", "http://s3:9000")
            .set("s3.secret-key", "SK")
            .set("storage.region", "eu-west-2") // an old name: its warning travels too
            .lease(Duration.ofSeconds(9))
            .stateBackend("hashmap")
            .taskDelivery(DeliveryGuarantee.AT_LEAST_ONCE)
            .build();
    OrchestratorConfig copy = InstantiationUtil.clone(c, getClass().getClassLoader());
    assertThat(copy).isNotSameAs(c).usingRecursiveComparison().isEqualTo(c);
    assertThat(copy.storage().region()).isEqualTo("eu-west-2");
    assertThat(copy.lease()).isEqualTo(Duration.ofSeconds(9));
    assertThat(copy.taskDelivery()).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    assertThat(copy.describe()).isEqualTo(c.describe()).contains("s3.secret-key = ********");
    assertThat(copy.warnings()).singleElement().asString().contains("use s3.region");
  }

  @Test
  void backoffGrowsExponentiallyUpToTheCap() {
    OrchestratorConfig.RetryPolicy p = new OrchestratorConfig.RetryPolicy(10, 1000, 5000, 2.0);
    assertThat(p.backoffMillis(2)).isEqualTo(1000);
    assertThat(p.backoffMillis(3)).isEqualTo(2000);
    assertThat(p.backoffMillis(4)).isEqualTo(4000);
    assertThat(p.backoffMillis(5)).isEqualTo(5000);
  }
}
