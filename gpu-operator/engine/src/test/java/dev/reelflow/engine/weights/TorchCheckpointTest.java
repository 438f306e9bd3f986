package dev.reelflow.engine.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.testing.FormulaValues;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The restricted reader of torch.save files, on fixtures written by torch 1.13. */
class TorchCheckpointTest {
  static Path fixture(String name) throws Exception {
    return Path.of(TorchCheckpointTest.class.getResource("/engine/text/" + name).toURI());
  }

  @Test
  void readsAStateDictOfFloat32Float16AndBfloat16TensorsAndStorageOffsets() throws Exception {
    try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("state_dict.pt"));
        CpuBackend b = new CpuBackend(1)) {
      assertThat(ck.entries().keySet()).containsExactly("a.weight", "b.weight", "c.bias", "a.rows");
      assertThat(ck.entries().get("b.weight").dtype()).isEqualTo("F16");
      assertThat(ck.entries().get("c.bias").dtype()).isEqualTo("BF16");
      assertThat(ck.entries().get("a.rows").shape()).containsExactly(2, 4);
      float[] a = FormulaValues.parameter("a.weight", new long[] {3, 4});
      try (Tensor t = ck.read("a.weight", b, false);
          Tensor rows = ck.read("a.rows", b, false);
          Tensor half = ck.read("b.weight", b, true);
          Tensor bf = ck.read("c.bias", b, false)) {
        assertThat(b.toArray(t)).containsExactly(a);
        assertThat(b.toArray(rows)).containsExactly(Arrays.copyOfRange(a, 4, 12));
        assertThat(half.dtype()).isEqualTo(DType.F16);
        float[] c = FormulaValues.parameter("c.bias", new long[] {4});
        float[] got = b.toArray(bf);
        for (int i = 0; i < 4; i++) {
          assertThat(got[i]).isEqualTo(DType.bf16ToFloat(DType.floatToBf16(c[i])));
        }
      }
      // the strict loader matches these entries like safetensors headers
      WeightCheck check =
          WeightSet.loader(
                  List.of(new ParamSpec("a.weight", new long[] {3, 4}, ParamSpec.Init.FAN_IN)))
              .ignore("(b|c)\\..*", "test")
              .check(ck.path(), ck.entries());
      assertThat(check.unexpected()).containsExactly("a.rows");
      assertThat(check.consumed()).hasSize(1);
    }
  }

  @Test
  void unwrapsTheGlyphCheckpointsStateDictAsTheOfficialLoader() throws Exception {
    try (TorchCheckpoint ck = TorchCheckpoint.open(fixture("wrapped_state_dict.pt"))) {
      assertThat(ck.entries().keySet()).containsExactly("final_layer_norm.weight");
    }
  }

  @Test
  void refusesAnyOtherGlobalWithoutRunningIt(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> TorchCheckpoint.open(fixture("forbidden_global.pt")))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("refused the global posix.system")
        .hasMessageContaining("only a state dict");
    Path legacy = Files.write(dir.resolve("legacy.pt"), new byte[] {(byte) 0x80, 2, 'N', '.'});
    assertThatThrownBy(() -> TorchCheckpoint.open(legacy))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("not a PyTorch zip checkpoint");
  }
}
