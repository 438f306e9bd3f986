package dev.reelflow.stack;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityResult;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;

/**
 * The Confluent compatibility levels, checked with Avro's own {@link SchemaCompatibility}.
 *
 * <p>BACKWARD: the new schema (reader) reads data written with the previous one. FORWARD: the
 * previous schema (reader) reads data written with the new one. FULL: both. The {@code _TRANSITIVE}
 * variants check against every earlier live version instead of only the latest.
 */
enum CompatibilityLevel {
  NONE(false, false, false),
  BACKWARD(true, false, false),
  BACKWARD_TRANSITIVE(true, false, true),
  FORWARD(false, true, false),
  FORWARD_TRANSITIVE(false, true, true),
  FULL(true, true, false),
  FULL_TRANSITIVE(true, true, true);

  private final boolean backward;
  private final boolean forward;
  private final boolean transitive;

  CompatibilityLevel(boolean backward, boolean forward, boolean transitive) {
    this.backward = backward;
    this.forward = forward;
    this.transitive = transitive;
  }

  /** Parses a level name case-insensitively; unknown names are Confluent's error 42203. */
  static CompatibilityLevel parse(String name) throws RegistryException {
    if (name == null) {
      throw RegistryException.invalidCompatibilityLevel(null);
    }
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw RegistryException.invalidCompatibilityLevel(name);
    }
  }

  /**
   * Why {@code candidate} may not follow {@code previous} (oldest first); empty when it may.
   * Non-transitive levels only look at the latest previous schema.
   */
  List<String> incompatibilities(Schema candidate, List<Schema> previous) {
    List<String> problems = new ArrayList<>();
    if (this == NONE || previous.isEmpty()) {
      return problems;
    }
    List<Schema> against = transitive ? previous : List.of(previous.get(previous.size() - 1));
    for (Schema old : against) {
      if (backward) {
        describe(
            SchemaCompatibility.checkReaderWriterCompatibility(candidate, old),
            "BACKWARD",
            problems);
      }
      if (forward) {
        describe(
            SchemaCompatibility.checkReaderWriterCompatibility(old, candidate),
            "FORWARD",
            problems);
      }
    }
    return problems;
  }

  private static void describe(
      SchemaCompatibility.SchemaPairCompatibility pair, String direction, List<String> out) {
    SchemaCompatibilityResult result = pair.getResult();
    if (result.getCompatibility() == SchemaCompatibilityType.COMPATIBLE) {
      return;
    }
    for (Incompatibility i : result.getIncompatibilities()) {
      out.add(
          "{errorType:'"
              + i.getType()
              + "', description:'"
              + direction
              + ": "
              + i.getMessage()
              + "', location:'"
              + i.getLocation()
              + "'}");
    }
  }
}
