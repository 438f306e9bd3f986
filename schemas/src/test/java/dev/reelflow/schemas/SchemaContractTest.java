package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.avro.JsonProperties;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/** Rules that keep the event schemas evolvable (issue 3: docs, enums, defaults). */
class SchemaContractTest {

  @Test
  void everyFieldIsDocumentedAndOptionalFieldsDefaultToNull() {
    List<String> problems = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Topic topic : Topic.values()) {
      topic.valueSchema().ifPresent(s -> check(s, problems, seen));
    }
    assertThat(seen)
        .contains("dev.reelflow.schemas.avro.RenderParams", "dev.reelflow.schemas.avro.ErrorInfo");
    assertThat(problems).isEmpty();
  }

  @Test
  void enumsHaveADefaultSoNewSymbolsStayReadable() {
    List<String> missing = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (Topic topic : Topic.values()) {
      topic.valueSchema().ifPresent(s -> enums(s, seen, missing));
    }
    assertThat(seen).hasSizeGreaterThanOrEqualTo(10);
    assertThat(missing).isEmpty();
  }

  private static void check(Schema schema, List<String> problems, Set<String> seen) {
    if (schema.getType() == Schema.Type.UNION) {
      schema.getTypes().forEach(t -> check(t, problems, seen));
      return;
    }
    if (schema.getType() == Schema.Type.ARRAY) {
      check(schema.getElementType(), problems, seen);
      return;
    }
    if (schema.getType() == Schema.Type.MAP) {
      check(schema.getValueType(), problems, seen);
      return;
    }
    if (schema.getType() != Schema.Type.RECORD || !seen.add(schema.getFullName())) {
      return;
    }
    if (schema.getDoc() == null || schema.getDoc().isBlank()) {
      problems.add(schema.getFullName() + " has no doc");
    }
    for (Schema.Field f : schema.getFields()) {
      String where = schema.getName() + "." + f.name();
      if (f.doc() == null || f.doc().isBlank()) {
        problems.add(where + " has no doc");
      }
      Schema t = f.schema();
      if (t.getType() == Schema.Type.UNION && t.isNullable()) {
        if (t.getTypes().get(0).getType() != Schema.Type.NULL) {
          problems.add(where + " is nullable but null is not the first branch");
        } else if (!f.hasDefaultValue() || f.defaultVal() != JsonProperties.NULL_VALUE) {
          problems.add(where + " is nullable without default null");
        }
      }
      check(t, problems, seen);
    }
  }

  private static void enums(Schema schema, Set<String> seen, List<String> missing) {
    switch (schema.getType()) {
      case UNION -> schema.getTypes().forEach(t -> enums(t, seen, missing));
      case ARRAY -> enums(schema.getElementType(), seen, missing);
      case MAP -> enums(schema.getValueType(), seen, missing);
      case ENUM -> {
        if (seen.add(schema.getFullName()) && schema.getEnumDefault() == null) {
          missing.add(schema.getFullName());
        }
      }
      case RECORD -> {
        if (seen.add(schema.getFullName())) {
          schema.getFields().forEach(f -> enums(f.schema(), seen, missing));
        }
      }
      default -> {}
    }
  }
}
