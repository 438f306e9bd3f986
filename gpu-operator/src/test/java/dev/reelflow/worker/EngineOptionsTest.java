package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.config.ConfigException;
import dev.reelflow.config.ConfigSpec;
import dev.reelflow.config.ConfigValues;
import dev.reelflow.config.Setting;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.EngineFactory;
import dev.reelflow.worker.spi.EngineSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Engine options are read through each engine's declared options, strictly. */
class EngineOptionsTest {

  private static final BaseVideoJob JOB =
      new BaseVideoJob("t", "r", "p", "", null, "preview", 256, 144, 33, 24, null, null, 1);

  private static EngineSettings emulated(Map<String, String> options) {
    return new EngineSettings("emulated", options, "cpu", 0, false);
  }

  @Test
  void anUnknownOptionFailsNamingItInFullAndSuggestingTheClosest() {
    assertThatThrownBy(() -> new EmulatedEngine(emulated(Map.of("stepp", "40ms"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown engine emulated setting 'engine.emulated.stepp'")
        .hasMessageContaining("(worker configuration)")
        .hasMessageContaining("did you mean 'engine.emulated.step'?");
    Map<String, String> o = FakeResident.options("");
    o.put("cancel-grase", "1s");
    assertThatThrownBy(
            () -> ResidentOptions.from(new EngineSettings("resident", o, "cpu", 0, false)))
        .hasMessageContaining("'engine.resident.cancel-grase'")
        .hasMessageContaining("did you mean 'engine.resident.cancel-grace'?");
  }

  @Test
  void aBadValueFailsNamingTheOption() {
    assertThatThrownBy(() -> new EmulatedEngine(emulated(Map.of("step", "40"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("engine.emulated.step: cannot read '40' as duration")
        .hasMessageContaining("e.g. 500ms or 30s");
    assertThatThrownBy(() -> new EmulatedEngine(emulated(Map.of("default-steps", "0"))))
        .hasMessageContaining("engine.emulated.default-steps must be > 0, got '0'");
    assertThatThrownBy(
            () ->
                new CommandEngine(
                    new EngineSettings(
                        "command",
                        Map.of("command", "x", "bad-parameters-exit-codes", "2,x"),
                        "cpu",
                        0,
                        false)))
        .hasMessageContaining("engine.command.bad-parameters-exit-codes must be");
    assertThatThrownBy(
            () -> new CommandEngine(new EngineSettings("command", Map.of(), "cpu", 0, false)))
        .hasMessageContaining("engine.command.command is required")
        .hasMessageContaining("REELFLOW_ENGINE_COMMAND_COMMAND");
  }

  @Test
  void anOldMillisecondsNameIsReadWithAWarningAndConverted() {
    ConfigValues v =
        emulated(Map.of("step-ms", "40", "overhead-ms", "7")).options(EmulatedEngine.OPTIONS);
    assertThat(v.get(EmulatedEngine.STEP)).isEqualTo(Duration.ofMillis(40));
    assertThat(v.get(EmulatedEngine.OVERHEAD)).isEqualTo(Duration.ofMillis(7));
    assertThat(v.warnings())
        .containsExactlyInAnyOrder(
            "engine.emulated.step-ms (worker configuration) is an old name; use"
                + " engine.emulated.step (the old name is read for one release)",
            "engine.emulated.overhead-ms (worker configuration) is an old name; use"
                + " engine.emulated.overhead (the old name is read for one release)");
    assertThat(new EmulatedEngine(emulated(Map.of("step-ms", "40"))).stepMillis(JOB)).isEqualTo(40);

    Map<String, String> o = FakeResident.options("");
    o.put("task-timeout-ms", "400");
    o.remove("restart-backoff-max"); // the new name would win over the old
    o.put("restart-backoff-max-ms", "120000");
    ResidentOptions r = ResidentOptions.from(new EngineSettings("resident", o, "cpu", 0, false));
    assertThat(r.taskTimeout()).isEqualTo(Duration.ofMillis(400));
    assertThat(r.restartBackoffMax()).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void theDefaultsAreTheOldOnes() {
    EmulatedEngine e = new EmulatedEngine(emulated(Map.of()));
    assertThat(e.defaultSteps()).isEqualTo(8);
    // overhead 5 ms + 20 ms per 1000 tokens
    assertThat(e.stepMillis(JOB)).isEqualTo(5 + Math.round(MemoryPlan.tokens(JOB) / 1000.0 * 20));
    Map<String, String> o = new HashMap<>(FakeResident.options(""));
    o.keySet().removeIf(k -> !k.equals("command"));
    ResidentOptions r = ResidentOptions.from(new EngineSettings("resident", o, "cpu", 0, false));
    assertThat(r.loadTimeout()).isEqualTo(Duration.ofMillis(1_800_000));
    assertThat(r.taskTimeout()).isEqualTo(Duration.ofMillis(3_600_000));
    assertThat(r.cancelGrace()).isEqualTo(Duration.ofMillis(15_000));
    assertThat(r.shutdownGrace()).isEqualTo(Duration.ofMillis(10_000));
    assertThat(r.restartBackoff()).isEqualTo(Duration.ofMillis(1_000));
    assertThat(r.restartBackoffMax()).isEqualTo(Duration.ofMillis(60_000));
    assertThat(r.maxStartFailures()).isEqualTo(3);
    assertThat(r.defaultSteps()).isEqualTo(50);
    assertThat(r.perProcess()).isFalse();
    assertThat(r.modelId()).isEqualTo("external");
  }

  @Test
  void everyBuiltInEngineDeclaresDocumentedOptionsInTheVocabulary() {
    for (EngineFactory f : BuiltinEngines.all()) {
      ConfigSpec spec = f.optionSpec();
      assertThat(spec.settings()).as(f.name()).isNotEmpty();
      for (Setting<?> s : spec.settings()) {
        assertThat(s.doc()).as(f.name() + " " + s.name()).endsWith(".");
        assertThat(s.name()).as(f.name()).doesNotEndWith("-ms");
      }
    }
  }
}
