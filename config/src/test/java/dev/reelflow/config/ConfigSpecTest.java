package dev.reelflow.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigSpecTest {

  static final Setting<String> SERVERS =
      Setting.string("kafka.bootstrap.servers")
          .defaultValue("localhost:9092")
          .doc("Kafka brokers.")
          .oldName("bootstrap.servers")
          .build();
  static final Setting<Duration> GRACE =
      Setting.duration("drain.grace")
          .defaultValue("30s")
          .check(d -> !d.isNegative(), ">= 0")
          .doc("Time to finish.")
          .oldName("drain.grace.ms", Durations::fromMillis)
          .build();
  static final Setting<Integer> SLOTS =
      Setting.integer("worker.slots")
          .defaultValue("1")
          .check(n -> n >= 1 && n <= 64, "in 1..64")
          .doc("Slots.")
          .build();
  static final Setting<String> SECRET =
      Setting.string("s3.secret-key")
          .secret()
          .doc("S3 secret key.")
          .oldName("s3.secret.key")
          .build();
  static final Setting<String> POOL =
      Setting.choice("worker.pool", "base", "upscale").defaultValue("base").doc("Pool.").build();

  static final ConfigSpec SPEC =
      ConfigSpec.builder("worker")
          .add(SERVERS, GRACE, SLOTS, SECRET, POOL)
          .family(
              "engine.",
              "Options of engine <name>.",
              rest -> {
                String[] p = rest.split("_", 2);
                return p.length < 2
                    ? null
                    : p[0].toLowerCase(Locale.ROOT)
                        + "."
                        + p[1].toLowerCase(Locale.ROOT).replace('_', '-');
              })
          .oldEnvPrefix("REELFLOW_WORKER_")
          .build();

  @Test
  void defaultsAreParsedAndTyped() {
    ConfigValues v = SPEC.defaults();
    assertThat(v.get(SERVERS)).isEqualTo("localhost:9092");
    assertThat(v.get(GRACE)).isEqualTo(Duration.ofSeconds(30));
    assertThat(v.get(SLOTS)).isEqualTo(1);
    assertThat(v.get(SECRET)).isNull();
    assertThat(v.isSet(SLOTS)).isFalse();
    assertThat(v.warnings()).isEmpty();
  }

  @Test
  void fileThenEnvironmentThenOverridesWin(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("w.properties");
    Files.writeString(file, "worker.slots=2\ndrain.grace=5s\nkafka.bootstrap.servers=file:1\n");
    ConfigValues v =
        SPEC.load(
            file,
            Map.of("REELFLOW_WORKER_SLOTS", "3", "REELFLOW_DRAIN_GRACE", "7s"),
            Map.of("worker.slots", "4"));
    assertThat(v.get(SLOTS)).isEqualTo(4);
    assertThat(v.get(GRACE)).isEqualTo(Duration.ofSeconds(7));
    assertThat(v.get(SERVERS)).isEqualTo("file:1");
    assertThat(v.source("drain.grace")).isEqualTo("environment REELFLOW_DRAIN_GRACE");
    assertThat(v.source("kafka.bootstrap.servers")).isEqualTo("file " + file);
  }

  @Test
  void oldNamesAreReadWithAWarningAndTheirValuesConverted(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("w.properties");
    Files.writeString(file, "drain.grace.ms=1500\nbootstrap.servers=old:1\n");
    ConfigValues v = SPEC.load(file, Map.of(), Map.of());
    assertThat(v.get(GRACE)).isEqualTo(Duration.ofMillis(1500));
    assertThat(v.raw("drain.grace")).isEqualTo("1500ms");
    assertThat(v.get(SERVERS)).isEqualTo("old:1");
    assertThat(v.warnings())
        .anySatisfy(w -> assertThat(w).contains("drain.grace.ms").contains("use drain.grace"))
        .anySatisfy(
            w ->
                assertThat(w)
                    .contains("bootstrap.servers")
                    .contains("use kafka.bootstrap.servers"));
  }

  @Test
  void theNewNameWinsOverTheOldInTheSameSource(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("w.properties");
    // Properties are read in name order: the old name comes after the new one here.
    Files.writeString(file, "drain.grace=2s\ndrain.grace.ms=9000\n");
    assertThat(SPEC.load(file, Map.of(), Map.of()).get(GRACE)).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void oldEnvironmentNamesAndPrefixesAreRead() {
    ConfigValues v =
        SPEC.load(
            null,
            Map.of(
                "REELFLOW_WORKER_BOOTSTRAP_SERVERS", "a:1",
                "REELFLOW_WORKER_DRAIN_GRACE_MS", "250",
                "REELFLOW_S3_SECRET_KEY", "shh"),
            Map.of());
    assertThat(v.get(SERVERS)).isEqualTo("a:1");
    assertThat(v.get(GRACE)).isEqualTo(Duration.ofMillis(250));
    assertThat(v.get(SECRET)).isEqualTo("shh");
    assertThat(v.warnings())
        .containsExactlyInAnyOrder(
            "REELFLOW_WORKER_BOOTSTRAP_SERVERS is an old variable name; use"
                + " REELFLOW_KAFKA_BOOTSTRAP_SERVERS (setting kafka.bootstrap.servers)",
            "REELFLOW_WORKER_DRAIN_GRACE_MS is an old variable name; use REELFLOW_DRAIN_GRACE"
                + " (setting drain.grace)");
  }

  @Test
  void otherProcessesVariablesAreIgnoredButUnknownNamesInFilesFail(@TempDir Path dir)
      throws Exception {
    ConfigValues v = SPEC.load(null, Map.of("REELFLOW_INGEST_PORT", "1", "HOME", "/"), Map.of());
    assertThat(v.raw("ingest.port")).isNull();

    Path file = dir.resolve("w.properties");
    Files.writeString(file, "worker.slot=2\n");
    assertThatThrownBy(() -> SPEC.load(file, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown worker setting 'worker.slot'")
        .hasMessageContaining("did you mean 'worker.slots'?")
        .hasMessageContaining("engine.*");
    assertThatThrownBy(() -> SPEC.load(null, Map.of(), Map.of("nonsense", "1")))
        .isInstanceOf(ConfigException.class)
        .hasMessageNotContaining("did you mean");
  }

  @Test
  void familiesAcceptAnyMemberFromEveryPlace() {
    ConfigValues v =
        SPEC.load(
            null,
            Map.of("REELFLOW_ENGINE_EMULATED_STEP_MS", "200"),
            Map.of("engine.native.variant-preference", "480p"));
    assertThat(v.withPrefix("engine.emulated.")).isEqualTo(Map.of("step-ms", "200"));
    assertThat(v.withPrefix("engine.native.")).containsEntry("variant-preference", "480p");
  }

  @Test
  void badValuesNameTheSettingTheValueAndWhereItCameFrom() {
    assertThatThrownBy(() -> SPEC.load(null, Map.of("REELFLOW_WORKER_SLOTS", "99"), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("worker.slots must be in 1..64, got '99'")
        .hasMessageContaining("environment REELFLOW_WORKER_SLOTS");
    assertThatThrownBy(() -> SPEC.load(null, Map.of(), Map.of("drain.grace", "30")))
        .hasMessageContaining("drain.grace: cannot read '30' as duration")
        .hasMessageContaining("e.g. 500ms or 30s");
    assertThatThrownBy(() -> SPEC.load(null, Map.of(), Map.of("worker.pool", "gpu")))
        .hasMessageContaining("expected one of [base, upscale]");
    assertThatThrownBy(() -> SPEC.defaults().require(SECRET))
        .hasMessageContaining("s3.secret-key is required")
        .hasMessageContaining("REELFLOW_S3_SECRET_KEY");
  }

  @Test
  void isoDurationsAreReadForOneReleaseWithAWarning() {
    ConfigValues v = SPEC.load(null, Map.of(), Map.of("drain.grace", "PT45S"));
    assertThat(v.get(GRACE)).isEqualTo(Duration.ofSeconds(45));
    assertThat(v.warnings()).singleElement().asString().contains("write 45s");
  }

  @Test
  void durationsHaveOneWrittenForm() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("10m")).isEqualTo(Duration.ofMinutes(10));
    assertThat(Durations.parse("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(Durations.parse("1d")).isEqualTo(Duration.ofDays(1));
    assertThat(Durations.parse("0")).isZero();
    for (String ms : List.of("1500", "60000", "7200000", "0", "86400000")) {
      Duration d = Duration.ofMillis(Long.parseLong(ms));
      assertThat(Durations.parse(Durations.fromMillis(ms))).isEqualTo(d);
    }
    assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("90m");
    assertThatThrownBy(() -> Durations.parse("5 parsecs"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void describeMasksSecretsAndShowsSources() {
    ConfigValues v = SPEC.load(null, Map.of(), Map.of("s3.secret-key", "hunter2"));
    assertThat(v.describe())
        .startsWith("worker configuration:")
        .contains("s3.secret-key = ********  (override)")
        .contains("worker.slots = 1  (default)")
        .doesNotContain("hunter2");
  }

  @Test
  void withChecksNamesAndValues() {
    ConfigValues v = SPEC.defaults().with("worker.slots", "8");
    assertThat(v.get(SLOTS)).isEqualTo(8);
    assertThatThrownBy(() -> v.with("worker.slots", "0")).hasMessageContaining("in 1..64");
    assertThatThrownBy(() -> v.with("slots", "2")).isInstanceOf(ConfigException.class);
  }

  @Test
  void theMarkdownTableListsEverySettingAndItsOldNames() {
    String table = SPEC.markdownTable();
    assertThat(table.lines()).hasSize(2 + 5 + 1);
    assertThat(table)
        .contains(
            "| `drain.grace` | duration | `30s` | Time to finish. Formerly `drain.grace.ms`. |")
        .contains("| `s3.secret-key` | string |  | S3 secret key. Secret: masked")
        .contains("| `engine.*` | | | Options of engine <name>. |");
  }

  /** The options of one engine, a member of the worker's family {@code engine.*}. */
  static final Setting<Duration> STEP =
      Setting.duration("step")
          .defaultValue("250ms")
          .check(d -> !d.isNegative(), ">= 0")
          .doc("Time per step.")
          .oldName("step-ms", Durations::fromMillis)
          .build();

  static final Setting<Integer> TILE =
      Setting.integer("tile-size")
          .defaultValue("256")
          .doc("Tile side.")
          .oldName("tileSize")
          .build();

  static final ConfigSpec EMULATED =
      ConfigSpec.builder("engine emulated")
          .add(STEP, TILE)
          .family("env.", "Environment of the program.", rest -> null)
          .build();

  @Test
  void familyMembersAreReadStrictlyAndNamedInFull() {
    ConfigValues v = EMULATED.read("engine.emulated.", Map.of("step", "2s"), "worker config");
    assertThat(v.get(STEP)).isEqualTo(Duration.ofSeconds(2));
    assertThat(v.get(TILE)).isEqualTo(256);
    assertThat(v.describe()).contains("engine.emulated.step = 2s  (worker config)");

    assertThatThrownBy(() -> EMULATED.read("engine.emulated.", Map.of("stpe", "2s"), "worker"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown engine emulated setting 'engine.emulated.stpe' (worker)")
        .hasMessageContaining("did you mean 'engine.emulated.step'?")
        .hasMessageContaining("engine.emulated.env.*");
    assertThatThrownBy(() -> EMULATED.read("engine.emulated.", Map.of("step", "fast"), "worker"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("engine.emulated.step: cannot read 'fast' as duration")
        .hasMessageContaining("(worker)");
    assertThatThrownBy(() -> EMULATED.read("engine.emulated.", Map.of("tile-size", "-"), "w"))
        .hasMessageStartingWith("engine.emulated.tile-size: cannot read '-' as int");
  }

  @Test
  void familyMembersOldNamesAreReadWithAWarningNamedInFull() {
    ConfigValues v =
        EMULATED.read(
            "engine.emulated.",
            Map.of("step-ms", "1500", "tileSize", "64", "env.PATH", "/bin"),
            "worker config");
    assertThat(v.get(STEP)).isEqualTo(Duration.ofMillis(1500));
    assertThat(v.raw("step")).isEqualTo("1500ms");
    assertThat(v.get(TILE)).isEqualTo(64);
    assertThat(v.withPrefix("env.")).isEqualTo(Map.of("PATH", "/bin"));
    assertThat(v.warnings())
        .containsExactlyInAnyOrder(
            "engine.emulated.step-ms (worker config) is an old name; use engine.emulated.step"
                + " (the old name is read for one release)",
            "engine.emulated.tileSize (worker config) is an old name; use"
                + " engine.emulated.tile-size (the old name is read for one release)");
  }

  @Test
  void aFamilyMembersTableNamesEverySettingInFull() {
    String table = EMULATED.markdownTable("engine.emulated.");
    assertThat(table.lines()).hasSize(2 + 2 + 1);
    assertThat(table)
        .contains(
            "| `engine.emulated.step` | duration | `250ms` | Time per step. Formerly"
                + " `engine.emulated.step-ms`. |")
        .contains("| `engine.emulated.tile-size` | int | `256` | Tile side. Formerly")
        .contains("| `engine.emulated.env.*` | | | Environment of the program. |");
    assertThat(EMULATED.markdownTable()).contains("| `step` | duration | `250ms` |");
  }

  @Test
  void badDeclarationsFailEarly() {
    assertThatThrownBy(() -> Setting.string("Bad_Name"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Setting.integer("n").defaultValue("x").build())
        .isInstanceOf(ConfigException.class);
    assertThatThrownBy(() -> ConfigSpec.builder("p").add(SLOTS, SLOTS))
        .isInstanceOf(IllegalStateException.class);
  }
}
