package dev.reelflow.ingest;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ingest settings on the shared definition: new names, old names, durations, bad values. */
class IngestConfigTest {

  @Test
  void defaultsAreTypedAndWrittenInTheNewForms() {
    IngestConfig c = IngestConfig.builder().build();
    assertThat(c.port()).isEqualTo(8080);
    assertThat(c.duration(IngestConfig.S3_PRESIGN_TTL)).isEqualTo(Duration.ofHours(1));
    assertThat(c.duration(IngestConfig.S3_READ_TIMEOUT)).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.duration(IngestConfig.WEBHOOK_MAX_BACKOFF)).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.longValue(IngestConfig.BATCH_MAX_BYTES)).isEqualTo(64L << 20);
    assertThat(c.doubleValue(IngestConfig.RATE_PER_SECOND)).isEqualTo(50.0);
    assertThat(c.get(IngestConfig.IMAGE_ALLOW_HOSTS)).isEmpty();
    assertThat(c.get(IngestConfig.API_KEYS)).isEmpty();
    assertThat(c.get(IngestConfig.TOPIC_WEBHOOKS)).isEqualTo("render.webhooks");
    assertThat(c.instanceId()).matches("ingest-[0-9a-f]{8}");
    assertThat(c.get(IngestConfig.INSTANCE_ID)).isEqualTo(c.instanceId());
    assertThat(c.warnings()).isEmpty();
    for (Setting<?> s : IngestConfig.SPEC.settings()) {
      assertThat(s.doc()).as(s.name()).isNotBlank();
      if (s.type().equals("duration")) {
        assertThat(s.defaultValue()).as(s.name()).doesNotStartWith("P");
      }
    }
  }

  @Test
  void theBuilderWritesDurationsInTheNewFormSoNothingWarns() {
    IngestConfig c =
        IngestConfig.builder()
            .httpTimeouts(Duration.ofSeconds(3), Duration.ofMillis(1500), 10)
            .webhooks(true, Duration.ofMillis(100), Duration.ofHours(1))
            .kafkaTimeouts(Duration.ofMillis(1500), Duration.ofSeconds(3))
            .build();
    assertThat(c.values().raw("ingest.http.idle-timeout")).isEqualTo("3s");
    assertThat(c.values().raw("ingest.http.header-timeout")).isEqualTo("1500ms");
    assertThat(c.duration(IngestConfig.HTTP_HEADER_TIMEOUT)).isEqualTo(Duration.ofMillis(1500));
    assertThat(c.duration(IngestConfig.WEBHOOK_INITIAL_BACKOFF)).isEqualTo(Duration.ofMillis(100));
    assertThat(c.longValue(IngestConfig.MAX_BLOCK_MS)).isEqualTo(1500);
    assertThat(c.warnings()).isEmpty();
  }

  @Test
  void oldNamesAndIsoDurationsInAFileAreReadWithAWarningNamingTheNewForm(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("ingest.properties");
    Files.writeString(
        file,
        String.join(
            "\n",
            "ingest.rate.limit.per.second=7.5",
            "kafka.transactional.producers=3",
            "s3.secret.key=topsecret",
            "ingest.webhook.retry.for=PT3H",
            "ingest.image.allow.hosts=127.0.0.1, images.test",
            "s3.presign-ttl=PT2H",
            "ingest.instance.id=ing-7",
            ""));
    IngestConfig c = IngestConfig.load(file, Map.of());

    assertThat(c.doubleValue(IngestConfig.RATE_PER_SECOND)).isEqualTo(7.5);
    assertThat(c.intValue(IngestConfig.TRANSACTIONAL_PRODUCERS)).isEqualTo(3);
    assertThat(c.get(IngestConfig.S3_SECRET_KEY)).isEqualTo("topsecret");
    assertThat(c.duration(IngestConfig.WEBHOOK_RETRY_FOR)).isEqualTo(Duration.ofHours(3));
    assertThat(c.get(IngestConfig.IMAGE_ALLOW_HOSTS)).containsExactly("127.0.0.1", "images.test");
    assertThat(c.duration(IngestConfig.S3_PRESIGN_TTL)).isEqualTo(Duration.ofHours(2));
    assertThat(c.instanceId()).isEqualTo("ing-7");
    assertThat(
            c.addressPolicy(
                    IngestConfig.IMAGE_ALLOW_HTTP,
                    IngestConfig.IMAGE_ALLOW_HOSTS,
                    IngestConfig.IMAGE_DENY_HOSTS)
                .allowsHost("images.test"))
        .isTrue();

    assertThat(c.warnings())
        .anySatisfy(
            w ->
                assertThat(w)
                    .contains("ingest.rate.limit.per.second")
                    .contains("use ingest.rate-limit.per-second"))
        .anySatisfy(
            w ->
                assertThat(w)
                    .contains("kafka.transactional.producers")
                    .contains("use ingest.transactional-producers"))
        .anySatisfy(w -> assertThat(w).contains("s3.secret.key").contains("use s3.secret-key"))
        .anySatisfy(w -> assertThat(w).contains("use ingest.webhook.retry-for"))
        .anySatisfy(w -> assertThat(w).contains("PT3H").contains("write 3h"))
        .anySatisfy(w -> assertThat(w).contains("s3.presign-ttl = PT2H").contains("write 2h"))
        .anySatisfy(w -> assertThat(w).contains("use ingest.instance-id"));
    // The start banner shows the values under their new names, the secret masked, and the
    // warnings.
    assertThat(c.describe())
        .contains("ingest.rate-limit.per-second = 7.5  (file " + file + ")")
        .contains("s3.secret-key = ********")
        .doesNotContain("topsecret")
        .contains("warning: kafka.transactional.producers");
  }

  @Test
  void theNewNameWinsOverTheOldInTheSameFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("ingest.properties");
    Files.writeString(file, "ingest.body.max-bytes=1000\ningest.body.max.bytes=2000\n");
    assertThat(IngestConfig.load(file, Map.of()).longValue(IngestConfig.BODY_MAX_BYTES))
        .isEqualTo(1000);
  }

  @Test
  void environmentVariablesKeepTheirNamesExceptTheMovedProducerSetting() {
    // '-' maps to '_' like '.', so the variables of the renamed settings did not change ...
    for (Setting<?> s : IngestConfig.SPEC.settings()) {
      for (Setting.OldName old : s.oldNames()) {
        String before = "REELFLOW_" + old.name().toUpperCase(Locale.ROOT).replace('.', '_');
        if (s == IngestConfig.TRANSACTIONAL_PRODUCERS) {
          assertThat(s.envName()).isEqualTo("REELFLOW_INGEST_TRANSACTIONAL_PRODUCERS");
        } else {
          assertThat(s.envName()).as(s.name()).isEqualTo(before);
        }
      }
    }
    IngestConfig c =
        IngestConfig.load(
            null,
            Map.of(
                "REELFLOW_INGEST_RATE_LIMIT_PER_SECOND", "9",
                "REELFLOW_INGEST_HTTP_IDLE_TIMEOUT", "45s",
                "REELFLOW_S3_ACCESS_KEY", "ak",
                "REELFLOW_KAFKA_TRANSACTIONAL_PRODUCERS", "4",
                "REELFLOW_WORKER_SLOTS", "2"));
    assertThat(c.doubleValue(IngestConfig.RATE_PER_SECOND)).isEqualTo(9.0);
    assertThat(c.duration(IngestConfig.HTTP_IDLE_TIMEOUT)).isEqualTo(Duration.ofSeconds(45));
    assertThat(c.get(IngestConfig.S3_ACCESS_KEY)).isEqualTo("ak");
    // ... and the one that moved out of kafka.* is still read under its old variable.
    assertThat(c.intValue(IngestConfig.TRANSACTIONAL_PRODUCERS)).isEqualTo(4);
    assertThat(c.warnings())
        .containsExactly(
            "REELFLOW_KAFKA_TRANSACTIONAL_PRODUCERS is an old variable name; use"
                + " REELFLOW_INGEST_TRANSACTIONAL_PRODUCERS (setting"
                + " ingest.transactional-producers)");
    assertThat(c.values().source("ingest.http.idle-timeout"))
        .isEqualTo("environment " + ConfigSpec.envName("ingest.http.idle-timeout"));
  }

  @Test
  void badValuesFailNamingTheSettingAndWhereTheValueCameFrom(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> IngestConfig.builder().port(70000).build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ingest.port must be in 0..65535, got '70000'");
    assertThatThrownBy(() -> IngestConfig.builder().bodyMaxBytes(0).build())
        .hasMessageContaining("ingest.body.max-bytes must be > 0");
    assertThatThrownBy(
            () -> IngestConfig.builder().set(IngestConfig.IMAGE_MAX_BYTES, "99999999").build())
        .hasMessageContaining("ingest.image.max-bytes must be in 1..16777216 (16 MiB)");
    assertThatThrownBy(
            () -> IngestConfig.load(null, Map.of("REELFLOW_INGEST_HTTP_IDLE_TIMEOUT", "30")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ingest.http.idle-timeout")
        .hasMessageContaining("e.g. 500ms or 30s")
        .hasMessageContaining("environment REELFLOW_INGEST_HTTP_IDLE_TIMEOUT");
    assertThatThrownBy(() -> IngestConfig.builder().set(IngestConfig.S3_READ_TIMEOUT, "0").build())
        .hasMessageContaining("s3.read-timeout must be > 0");
    assertThatThrownBy(
            () -> IngestConfig.builder().set(IngestConfig.WEBHOOKS_ENABLED, "yes").build())
        .hasMessageContaining("ingest.webhooks.enabled")
        .hasMessageContaining("true or false");
    assertThatThrownBy(
            () -> IngestConfig.builder().set(IngestConfig.IMAGE_DENY_HOSTS, "10.0.0.0/99").build())
        .hasMessageContaining("ingest.image.deny-hosts: ");

    // A value under an old name is checked like any other and named by its setting and source.
    Path file = dir.resolve("ingest.properties");
    Files.writeString(file, "ingest.batch.max.rows=many\n");
    assertThatThrownBy(() -> IngestConfig.load(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("ingest.batch.max-rows: cannot read 'many' as int")
        .hasMessageContaining("(file " + file + ")");

    // A typo in a file fails instead of falling back to the default.
    Files.writeString(file, "ingest.prot=9000\n");
    assertThatThrownBy(() -> IngestConfig.load(file, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown ingest setting 'ingest.prot'")
        .hasMessageContaining("did you mean 'ingest.port'?");
  }

  @Test
  void withKeepsTheGeneratedInstanceIdAndChecksTheValue() {
    IngestConfig c = IngestConfig.builder().build();
    IngestConfig keyed = c.with(IngestConfig.API_KEYS_FILE, "keys.json");
    assertThat(keyed.instanceId()).isEqualTo(c.instanceId());
    assertThat(keyed.get(IngestConfig.API_KEYS_FILE)).isEqualTo("keys.json");
    assertThat(keyed.describe())
        .contains("ingest.instance-id = " + c.instanceId() + "  (generated)");
    assertThatThrownBy(() -> c.with(IngestConfig.BATCH_MAX_ROWS, "-1"))
        .hasMessageContaining("ingest.batch.max-rows must be > 0");
  }
}
