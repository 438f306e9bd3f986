package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

class CompatibilityLevelTest {
  static final Schema V1 = record("{\"name\":\"a\",\"type\":\"string\"}");
  // Adds a field with a default: new readers fill it in, old readers ignore it.
  static final Schema WITH_DEFAULT =
      record(
          "{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\",\"default\":0}");
  // Adds a field without a default: new readers cannot read old data.
  static final Schema WITHOUT_DEFAULT =
      record("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\"}");
  // Removes the only field without a default that V1 readers need.
  static final Schema EMPTY = record("");

  static Schema record(String fields) {
    return new Schema.Parser()
        .parse("{\"type\":\"record\",\"name\":\"R\",\"fields\":[" + fields + "]}");
  }

  @Test
  void backwardAllowsAFieldWithDefaultButNotWithout() {
    assertThat(CompatibilityLevel.BACKWARD.incompatibilities(WITH_DEFAULT, List.of(V1))).isEmpty();
    assertThat(CompatibilityLevel.BACKWARD.incompatibilities(WITHOUT_DEFAULT, List.of(V1)))
        .singleElement()
        .asString()
        .contains("READER_FIELD_MISSING_DEFAULT_VALUE", "b");
  }

  @Test
  void forwardChecksTheOtherDirection() {
    // Old readers (V1) can read data written without field a? No: a has no default.
    assertThat(CompatibilityLevel.FORWARD.incompatibilities(EMPTY, List.of(V1))).isNotEmpty();
    assertThat(CompatibilityLevel.BACKWARD.incompatibilities(EMPTY, List.of(V1))).isEmpty();
    assertThat(CompatibilityLevel.FORWARD.incompatibilities(WITHOUT_DEFAULT, List.of(V1)))
        .isEmpty();
  }

  @Test
  void fullNeedsBothDirections() {
    assertThat(CompatibilityLevel.FULL.incompatibilities(WITH_DEFAULT, List.of(V1))).isEmpty();
    assertThat(CompatibilityLevel.FULL.incompatibilities(WITHOUT_DEFAULT, List.of(V1)))
        .isNotEmpty();
    assertThat(CompatibilityLevel.FULL.incompatibilities(EMPTY, List.of(V1))).isNotEmpty();
  }

  @Test
  void transitiveLevelsCheckEveryEarlierVersionPlainOnesOnlyTheLatest() {
    // EMPTY -> V1 history; candidate WITHOUT_DEFAULT is backward compatible with EMPTY? No.
    // History [V1, EMPTY]: candidate V1 reads EMPTY's data? a has no default -> incompatible.
    Schema aWithDefault = record("{\"name\":\"a\",\"type\":\"string\",\"default\":\"x\"}");
    List<Schema> history = List.of(WITHOUT_DEFAULT, aWithDefault);
    // Latest only: aWithDefault reading aWithDefault data is fine.
    assertThat(CompatibilityLevel.BACKWARD.incompatibilities(aWithDefault, history)).isEmpty();
    // Candidate with an int field b without default vs. history: latest lacks b -> fails both.
    assertThat(CompatibilityLevel.BACKWARD.incompatibilities(WITHOUT_DEFAULT, history))
        .isNotEmpty();
    // A candidate that drops everything is backward compatible with all of them.
    assertThat(CompatibilityLevel.BACKWARD_TRANSITIVE.incompatibilities(EMPTY, history)).isEmpty();
    // Forward: history[0] (a, b without default) cannot read data of a candidate lacking b,
    // but the latest (a with default) can: only the transitive check notices.
    assertThat(CompatibilityLevel.FORWARD.incompatibilities(aWithDefault, history)).isEmpty();
    assertThat(CompatibilityLevel.FORWARD_TRANSITIVE.incompatibilities(aWithDefault, history))
        .isNotEmpty();
    assertThat(CompatibilityLevel.FULL_TRANSITIVE.incompatibilities(aWithDefault, history))
        .isNotEmpty();
  }

  @Test
  void noneAndEmptyHistoryAcceptAnything() {
    Schema other = new Schema.Parser().parse("\"string\"");
    assertThat(CompatibilityLevel.NONE.incompatibilities(other, List.of(V1))).isEmpty();
    assertThat(CompatibilityLevel.FULL_TRANSITIVE.incompatibilities(other, List.of())).isEmpty();
    assertThat(CompatibilityLevel.BACKWARD.incompatibilities(other, List.of(V1)))
        .anySatisfy(m -> assertThat(m).contains("TYPE_MISMATCH"));
  }

  @Test
  void parsesNamesCaseInsensitivelyAndRejectsUnknownOnesWith42203() throws Exception {
    assertThat(CompatibilityLevel.parse("full_transitive"))
        .isEqualTo(CompatibilityLevel.FULL_TRANSITIVE);
    assertThat(CompatibilityLevel.parse(" Backward ")).isEqualTo(CompatibilityLevel.BACKWARD);
    assertThatThrownBy(() -> CompatibilityLevel.parse("SIDEWAYS"))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> {
              assertThat(e.errorCode()).isEqualTo(42203);
              assertThat(e.httpStatus()).isEqualTo(422);
            });
  }
}
