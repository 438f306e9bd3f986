package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

class WireNumbersTest {

  @Test
  void theLimitIsTheLargestLongAvscReads() {
    assertThat(WireNumbers.MAX_LONG).isEqualTo(9_007_199_254_740_990L).isEqualTo((1L << 53) - 2);
    // Exact as a double, as is every integer up to 2^53 - 1; 2^53 + 1 is not (it rounds to 2^53).
    assertThat((long) (double) WireNumbers.MAX_LONG).isEqualTo(WireNumbers.MAX_LONG);
    assertThat((long) (double) ((1L << 53) + 1)).isNotEqualTo((1L << 53) + 1);
    assertThat(WireNumbers.isSafe(WireNumbers.MAX_LONG)).isTrue();
    assertThat(WireNumbers.isSafe(-WireNumbers.MAX_LONG)).isTrue();
    // avsc refuses 2^53 - 1 ("potential precision loss"): so does ReelFlow.
    assertThat(WireNumbers.isSafe(WireNumbers.MAX_LONG + 1)).isFalse();
    assertThat(WireNumbers.isSafe(-WireNumbers.MAX_LONG - 1)).isFalse();
    assertThat(WireNumbers.isValidSeed(0)).isTrue();
    assertThat(WireNumbers.isValidSeed(WireNumbers.MAX_SEED)).isTrue();
    assertThat(WireNumbers.isValidSeed(-1)).isFalse();
    assertThat(WireNumbers.isValidSeed((1L << 53) - 1)).isFalse();
    assertThat(WireNumbers.isSafe(WireNumbers.MAX_TIME.toEpochMilli())).isTrue();
    assertThat(WireNumbers.seedRangeMessage("x")).contains("9007199254740990", "2^53 - 2");
  }

  @Test
  void seedsFromAnyBitsAreInRange() {
    long[] edges = {-1L, Long.MIN_VALUE, Long.MAX_VALUE, 0L, (1L << 53) - 1, 1L << 53, 12345L};
    for (long bits : edges) {
      assertThat(WireNumbers.seedFromBits(bits)).isBetween(0L, WireNumbers.MAX_SEED);
    }
    assertThat(WireNumbers.seedFromBits(WireNumbers.MAX_SEED)).isEqualTo(WireNumbers.MAX_SEED);
    assertThat(WireNumbers.seedFromBits(WireNumbers.MAX_SEED + 1)).isZero();
    assertThat(WireNumbers.seedFromBits(12345L)).isEqualTo(12345L);
  }

  /**
   * The audit stays true: every long of every value schema on the topics says in its doc how it
   * stays within 2^53 - 2 (or why it may not), so a new long field cannot be added silently.
   */
  @Test
  void everyLongOnTheTopicsDocumentsItsRange() {
    List<String> undocumented = new ArrayList<>();
    List<String> longs = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Topic topic : Topic.values()) {
      topic.valueSchema().ifPresent(s -> visit(s, undocumented, longs, seen));
    }
    assertThat(longs).as("long fields of the value schemas").hasSize(27);
    assertThat(undocumented).isEmpty();
  }

  private static void visit(
      Schema record, List<String> undocumented, List<String> longs, Set<String> seen) {
    if (!seen.add(record.getFullName())) {
      return;
    }
    for (Schema.Field f : record.getFields()) {
      for (Schema s : branches(f.schema())) {
        if (s.getType() == Schema.Type.RECORD) {
          visit(s, undocumented, longs, seen);
        } else if (s.getType() == Schema.Type.LONG) {
          String name = record.getName() + "." + f.name();
          longs.add(name);
          if (f.doc() == null || !f.doc().contains("2^53")) {
            undocumented.add(name + ": " + f.doc());
          }
        }
      }
    }
  }

  private static List<Schema> branches(Schema s) {
    return switch (s.getType()) {
      case UNION -> s.getTypes().stream().flatMap(b -> branches(b).stream()).toList();
      case ARRAY -> branches(s.getElementType());
      case MAP -> branches(s.getValueType());
      default -> List.of(s);
    };
  }
}
