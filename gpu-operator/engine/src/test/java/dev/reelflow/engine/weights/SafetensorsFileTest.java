package dev.reelflow.engine.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One reader for files on disk and files in memory; the writer's output reads back. */
class SafetensorsFileTest {

  private static byte[] sample() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new SafetensorsWriter()
        .metadata("note", "a \"quoted\"\nvalue")
        .add("a", new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, 1e-3f, -7}, DType.F32)
        .add("h", new long[] {3}, new float[] {0.5f, -1.25f, 2}, DType.F16)
        .add("b", new long[] {2}, new float[] {3, -0.75f}, DType.BF16)
        .writeTo(out);
    return out.toByteArray();
  }

  @Test
  void inMemoryAndOnDiskReadTheSameTensorsAndMetadata(@TempDir Path dir) throws IOException {
    byte[] bytes = sample();
    Path file = dir.resolve("s.safetensors");
    Files.write(file, bytes);
    try (SafetensorsFile mem = SafetensorsFile.of(bytes, "sample");
        SafetensorsFile disk = SafetensorsFile.open(file)) {
      for (SafetensorsFile f : new SafetensorsFile[] {mem, disk}) {
        assertThat(f.entries().keySet()).containsExactly("a", "h", "b");
        assertThat(f.entries().get("a").shape()).containsExactly(2, 3);
        assertThat(f.metadata()).containsEntry("note", "a \"quoted\"\nvalue");
        assertThat(f.floats("a")).containsExactly(1, -2, 3.5f, 0, 1e-3f, -7);
        assertThat(f.floats("h")).containsExactly(0.5f, -1.25f, 2);
        assertThat(f.floats("b")).containsExactly(3, -0.75f);
      }
      assertThat(mem.path()).isNull();
      assertThat(disk.fileSize()).isEqualTo(bytes.length);
    }
  }

  @Test
  void aTruncatedOrForeignFileIsRefusedWithItsName() throws IOException {
    byte[] bytes = sample();
    byte[] cut = Arrays.copyOf(bytes, bytes.length - 3);
    assertThatThrownBy(() -> SafetensorsFile.of(cut, "latents.safetensors"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("latents.safetensors")
        .hasMessageContaining("truncated or corrupt");
    assertThatThrownBy(() -> SafetensorsFile.of("{}".getBytes(), "x.bin"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("x.bin is not a safetensors file");
    try (SafetensorsFile f = SafetensorsFile.of(bytes, "sample")) {
      assertThatThrownBy(() -> f.floats("missing"))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("sample has no tensor missing");
    }
  }

  @Test
  void malformedJsonIsAnIllegalArgumentNamingTheProblem() {
    assertThat(Json.parse("{\"n\": 3, \"x\": 1.5, \"l\": [1, true, null]}"))
        .hasToString("{n=3, x=1.5, l=[1, true, null]}");
    assertThat(((java.util.Map<?, ?>) Json.parse("{\"n\": 3}")).get("n")).isInstanceOf(Long.class);
    assertThatThrownBy(() -> Json.parse("{\"a\": 1} trailing"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("malformed JSON");
    assertThat(Json.quote("a\"b\\c\u0001")).isEqualTo("\"a\\\"b\\\\c\\u0001\"");
  }
}
