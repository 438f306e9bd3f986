package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SchemaRegistryStateTest {
  static String record(String name, String fields) {
    return "{\"type\":\"record\",\"name\":\"" + name + "\",\"fields\":[" + fields + "]}";
  }

  static final String A = record("A", "{\"name\":\"x\",\"type\":\"string\"}");
  static final String B = record("B", "{\"name\":\"x\",\"type\":\"string\"}");
  static final String A_BREAKING = record("A", "{\"name\":\"x\",\"type\":\"int\"}");

  /** Applies commands like a registry instance replaying the log, collecting results/errors. */
  static List<Object> replay(List<RegistryCommand> log) {
    SchemaRegistryState state = new SchemaRegistryState(CompatibilityLevel.BACKWARD);
    List<Object> out = new ArrayList<>();
    for (RegistryCommand c : log) {
      try {
        out.add(state.apply(c));
      } catch (RegistryException e) {
        out.add(e.errorCode());
      }
    }
    return out;
  }

  @Test
  void idsFollowLogOrderSoEveryReplayAgrees() {
    // What two instances appended concurrently, in the order the partition stored it.
    List<RegistryCommand> log =
        List.of(
            RegistryCommand.register("b-value", B),
            RegistryCommand.register("a-value", A),
            RegistryCommand.register("a-value", A), // the other instance's duplicate
            RegistryCommand.register("a-value", A_BREAKING),
            RegistryCommand.register("copy-value", B));
    List<Object> first = replay(log);
    assertThat(first)
        .containsExactly(
            new SchemaRegistryState.Registered(1, 1),
            new SchemaRegistryState.Registered(2, 1),
            new SchemaRegistryState.Registered(2, 1),
            409,
            new SchemaRegistryState.Registered(1, 1));
    assertThat(replay(log)).isEqualTo(first);
  }

  @Test
  void aRejectedRegistrationConsumesNoIdAndNoVersion() throws Exception {
    SchemaRegistryState state = new SchemaRegistryState(CompatibilityLevel.BACKWARD);
    state.apply(RegistryCommand.register("s", A));
    assertThatThrownBy(() -> state.apply(RegistryCommand.register("s", A_BREAKING)))
        .isInstanceOf(RegistryException.class);
    assertThatThrownBy(() -> state.apply(RegistryCommand.register("s", "{bad json")))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.errorCode()).isEqualTo(42201));
    assertThat(state.apply(RegistryCommand.register("t", B)))
        .isEqualTo(new SchemaRegistryState.Registered(2, 1));
    assertThat(state.versions("s", true)).containsExactly(1);
  }

  @Test
  void versionDeletesAreSoftFirstThenHard() throws Exception {
    SchemaRegistryState state = new SchemaRegistryState(CompatibilityLevel.NONE);
    state.apply(RegistryCommand.register("s", A));
    state.apply(RegistryCommand.register("s", A_BREAKING));
    assertThatThrownBy(() -> state.apply(RegistryCommand.deleteVersion("s", 1, true)))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.errorCode()).isEqualTo(40407));
    assertThat(state.apply(RegistryCommand.deleteVersion("s", -1, false))).isEqualTo(2);
    assertThat(state.version("s", -1, false).version()).isEqualTo(1);
    assertThat(state.version("s", 2, true).id()).isEqualTo(2);
    assertThatThrownBy(() -> state.version("s", 2, false))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.errorCode()).isEqualTo(40402));
    assertThatThrownBy(() -> state.apply(RegistryCommand.deleteVersion("s", 2, false)))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.errorCode()).isEqualTo(40406));
    assertThat(state.apply(RegistryCommand.deleteVersion("s", 2, true))).isEqualTo(2);
    assertThat(state.versions("s", true)).containsExactly(1);
    // The next registration never reuses a deleted version number.
    assertThat(state.apply(RegistryCommand.register("s", B)))
        .isEqualTo(new SchemaRegistryState.Registered(3, 3));
  }

  @Test
  void subjectLevelOverridesTheGlobalOne() throws Exception {
    SchemaRegistryState state = new SchemaRegistryState(CompatibilityLevel.BACKWARD);
    state.apply(RegistryCommand.setConfig("s", CompatibilityLevel.NONE));
    state.apply(RegistryCommand.register("s", A));
    assertThat(state.apply(RegistryCommand.register("s", A_BREAKING)))
        .isEqualTo(new SchemaRegistryState.Registered(2, 2));
    assertThat(state.apply(RegistryCommand.deleteConfig("s"))).isEqualTo(CompatibilityLevel.NONE);
    assertThat(state.effectiveLevel("s")).isEqualTo(CompatibilityLevel.BACKWARD);
    assertThat(state.compatibilityProblems("s", null, A)).isNotEmpty();
    assertThat(state.compatibilityProblems("new-subject", -1, A)).isEmpty();
    assertThatThrownBy(() -> state.compatibilityProblems("new-subject", 1, A))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.errorCode()).isEqualTo(40401));
  }
}
