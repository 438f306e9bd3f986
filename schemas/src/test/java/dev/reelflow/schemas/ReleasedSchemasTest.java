package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.junit.jupiter.api.Test;

/**
 * Guards schema evolution: the current value schemas must stay FULL compatible with the released
 * ones in {@code src/test/resources/released/v1} (new readers read old records, old readers read
 * new records, as a rolling upgrade needs). A failure here means a change breaks records already in
 * Kafka: give new fields defaults instead of changing or removing fields.
 */
class ReleasedSchemasTest {

  @Test
  void currentSchemasAreFullCompatibleWithTheReleasedOnes() throws IOException {
    List<String> problems = new ArrayList<>();
    int checked = 0;
    for (Topic topic : Topic.values()) {
      if (topic.valueSchema().isEmpty()) {
        continue;
      }
      Schema current = topic.valueSchema().get();
      Schema released = released(current.getName());
      checked++;
      check(current, released, "new reader, released writer", problems);
      check(released, current, "released reader, new writer", problems);
    }
    assertThat(checked).isEqualTo(9);
    assertThat(problems).isEmpty();
  }

  @Test
  void theCheckCatchesABreakingChange() throws IOException {
    Schema released = released("RenderTask");
    String broken = released.toString().replace("\"name\":\"leaseMillis\"", "\"name\":\"leaseMs\"");
    Schema renamedWithoutDefault =
        new Schema.Parser().parse(broken.replace(",\"default\":30000", ""));
    List<String> problems = new ArrayList<>();
    check(renamedWithoutDefault, released, "new reader, released writer", problems);
    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).contains("leaseMs");
  }

  private static void check(Schema reader, Schema writer, String what, List<String> problems) {
    SchemaCompatibility.SchemaPairCompatibility c =
        SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
    if (c.getType() != SchemaCompatibilityType.COMPATIBLE) {
      problems.add(reader.getName() + " (" + what + "): " + c.getDescription());
    }
  }

  private static Schema released(String name) throws IOException {
    try (InputStream in =
        ReleasedSchemasTest.class.getResourceAsStream("/released/v1/" + name + ".avsc")) {
      assertThat(in).as("released/v1/" + name + ".avsc").isNotNull();
      return new Schema.Parser().parse(in);
    }
  }
}
