package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.Setting;
import dev.reelflow.ingest.IngestConfig;
import dev.reelflow.orchestrator.OrchestratorSettings;
import dev.reelflow.worker.WorkerConfig;
import dev.reelflow.worker.WorkerProcess;
import dev.reelflow.worker.spi.EngineRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The README's configuration tables are generated from the settings' definitions, the options of
 * every engine this build brings included: this test fails when they drift. {@code
 * -Dreelflow.readme.write=true} rewrites them instead.
 */
class ConfigurationTablesTest {

  static final Path README = Path.of("..", "..", "README.md");

  /** Every process's settings, in the order the README shows them. */
  static Map<String, ConfigSpec> specs() {
    Map<String, ConfigSpec> m = new LinkedHashMap<>();
    m.put("ingest", IngestConfig.SPEC);
    m.put("orchestrator", OrchestratorSettings.SPEC);
    m.put("worker", WorkerConfig.SPEC);
    m.put("client", ClientSettings.SPEC);
    return m;
  }

  /** Every engine's options by engine name (built-in and upscale-stage's), sorted by name. */
  static Map<String, ConfigSpec> engineSpecs() {
    EngineRegistry engines = WorkerProcess.builtinEngines().build();
    Map<String, ConfigSpec> m = new LinkedHashMap<>();
    for (String name : engines.names()) {
      m.put(name, engines.factory(name).optionSpec());
    }
    return m;
  }

  @Test
  void everyEngineOfThisBuildHasItsOptionsTable() {
    assertThat(engineSpecs().keySet())
        .contains("native", "resident", "command", "emulated", "latent-sr", "esrgan", "bicubic");
    engineSpecs()
        .forEach(
            (name, spec) ->
                assertThat(spec.settings()).as("options of engine " + name).isNotEmpty());
  }

  @Test
  void theReadmeShowsEverySettingAsDefined() throws Exception {
    String readme = Files.readString(README, StandardCharsets.UTF_8);
    String expected = readme;
    for (Map.Entry<String, ConfigSpec> e : specs().entrySet()) {
      expected = withTable(expected, e.getKey(), e.getValue().markdownTable());
    }
    for (Map.Entry<String, ConfigSpec> e : engineSpecs().entrySet()) {
      expected =
          withTable(
              expected,
              "engine-" + e.getKey(),
              e.getValue().markdownTable("engine." + e.getKey() + "."));
    }
    if (Boolean.getBoolean("reelflow.readme.write")) {
      Files.writeString(README, expected, StandardCharsets.UTF_8);
      readme = expected;
    }
    assertThat(readme)
        .as(
            "README.md's configuration tables differ from the settings' definitions; rewrite"
                + " them with: mvn -q -pl ops/cli -am test -Dtest=ConfigurationTablesTest"
                + " -Dsurefire.failIfNoSpecifiedTests=false -Dreelflow.readme.write=true")
        .isEqualTo(expected);
  }

  @Test
  void everySettingIsDocumentedAndNamedInTheVocabulary() {
    List<ConfigSpec> all = new ArrayList<>(specs().values());
    all.addAll(engineSpecs().values());
    for (ConfigSpec spec : all) {
      for (Setting<?> s : spec.settings()) {
        assertThat(s.doc()).as(spec.process() + " " + s.name()).isNotBlank().endsWith(".");
        if (!s.name().startsWith("kafka.")) { // Kafka's own property names keep Kafka's units
          assertThat(s.name())
              .as("%s %s: durations carry their unit in the value", spec.process(), s)
              .doesNotEndWith(".ms")
              .doesNotEndWith("-ms");
        }
        if (s.name().startsWith("s3.") || s.name().contains("storage.")) {
          assertThat(s.name()).as("S3 settings are s3.*").startsWith("s3.");
        }
      }
    }
  }

  /**
   * {@code text} with the block between the markers of {@code process} replaced by {@code table}.
   */
  static String withTable(String text, String process, String table) {
    String begin = "<!-- settings:" + process + " -->\n";
    String end = "<!-- /settings:" + process + " -->";
    int i = text.indexOf(begin);
    int j = text.indexOf(end);
    assertThat(i).as("README marker " + begin.trim()).isNotNegative();
    assertThat(j).as("README marker " + end).isGreaterThan(i);
    return text.substring(0, i + begin.length()) + table + text.substring(j);
  }
}
