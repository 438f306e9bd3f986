package dev.reelflow.engine.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightSetTest {
  private static final CpuBackend BE = new CpuBackend(2);

  @AfterAll
  static void close() {
    BE.close();
  }

  private static final List<ParamSpec> SPECS =
      List.of(
          new ParamSpec("a.weight", new long[] {2, 3}, ParamSpec.Init.FAN_IN),
          new ParamSpec("a.bias", new long[] {2}, ParamSpec.Init.ZEROS),
          new ParamSpec("n.weight", new long[] {3}, ParamSpec.Init.ONES));

  private static Path write(Path dir, String name, SafetensorsWriter w) throws Exception {
    Path f = dir.resolve(name);
    try (OutputStream out = Files.newOutputStream(f)) {
      w.writeTo(out);
    }
    return f;
  }

  @Test
  void loadsAMatchingCheckpoint(@TempDir Path dir) throws Exception {
    Path f =
        write(
            dir,
            "ok.safetensors",
            new SafetensorsWriter()
                .add("a.weight", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})
                .add("a.bias", new long[] {2}, new float[] {7, 8})
                .add("n.weight", new long[] {3}, new float[] {9, 10, 11}));
    try (WeightSet w = WeightSet.load(SPECS, List.of(f), BE, false)) {
      assertThat(w.id()).isEqualTo("ok.safetensors");
      assertThat(BE.toArray(w.get("a.weight"))).containsExactly(1, 2, 3, 4, 5, 6);
      assertThat(BE.toArray(w.get("n.weight"))).containsExactly(9, 10, 11);
    }
  }

  @Test
  void anExtraTensorIsAnErrorUnlessIgnoredWithAReason(@TempDir Path dir) throws Exception {
    Path f =
        write(
            dir,
            "extra.safetensors",
            new SafetensorsWriter()
                .add("a.weight", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})
                .add("a.bias", new long[] {2}, new float[] {7, 8})
                .add("n.weight", new long[] {3}, new float[] {9, 10, 11})
                .add("guidance_in.mlp.0.weight", new long[] {1}, new float[] {0})
                .add("ema.a.weight", new long[] {1}, new float[] {0}));
    assertThatThrownBy(() -> WeightSet.load(SPECS, List.of(f), BE, false))
        .isInstanceOfSatisfying(
            WeightLoadException.class,
            e ->
                assertThat(e.unexpected())
                    .containsExactly("guidance_in.mlp.0.weight", "ema.a.weight"))
        .hasMessageContaining("unexpected tensors")
        .hasMessageContaining("guidance_in.mlp.0.weight");
    WeightSet.Loader loader =
        WeightSet.loader(SPECS).ignore("ema\\..*", "EMA copies are not used for inference");
    WeightCheck check = loader.check(List.of(f));
    assertThat(check.ignored())
        .containsEntry("ema.a.weight", "EMA copies are not used for inference");
    assertThat(check.unexpected()).containsExactly("guidance_in.mlp.0.weight");
    assertThat(check.ok()).isFalse();
    loader.ignore("guidance_in\\..*", "test: the model has no guidance embedding");
    try (WeightSet w = loader.load(List.of(f), BE)) {
      assertThat(w.contains("ema.a.weight")).isFalse();
      assertThat(BE.toArray(w.get("a.bias"))).containsExactly(7, 8);
    }
  }

  @Test
  void wrongDtypeAndDuplicatesAcrossShardsAreListedWithTheRest(@TempDir Path dir) throws Exception {
    Path a =
        write(
            dir,
            "model-00001-of-00002.safetensors",
            new SafetensorsWriter()
                .add("a.weight", new long[] {2, 3}, new float[6], DType.BF16)
                .addRaw("a.bias", "I32", new long[] {2}, new byte[8]));
    Path b =
        write(
            dir,
            "model-00002-of-00002.safetensors",
            new SafetensorsWriter()
                .add("a.weight", new long[] {2, 3}, new float[6])
                .add("n.weight", new long[] {4}, new float[4], DType.F16));
    WeightCheck c = WeightSet.loader(SPECS).check(List.of(a, b));
    assertThat(c.wrongDtype())
        .containsExactly("a.bias: stored as I32; the engine reads F32, F16 or BF16");
    assertThat(c.misshaped()).containsExactly("n.weight: expected [3] got [4]");
    assertThat(c.duplicated())
        .containsExactly(
            "a.weight: in model-00001-of-00002.safetensors and model-00002-of-00002.safetensors");
    assertThat(c.problems()).hasSize(3);
    assertThatThrownBy(() -> WeightSet.load(SPECS, List.of(a, b), BE, true))
        .isInstanceOfSatisfying(
            WeightLoadException.class,
            e -> {
              assertThat(e.wrongDtype()).hasSize(1);
              assertThat(e.duplicated()).hasSize(1);
              assertThat(e.misshaped()).hasSize(1);
            });
  }

  @Test
  void storedAndResidentBytesFollowTheDtypesAndTheHalfRule(@TempDir Path dir) throws Exception {
    Path f =
        write(
            dir,
            "half.safetensors",
            new SafetensorsWriter()
                .add("a.weight", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}, DType.BF16)
                .add("a.bias", new long[] {2}, new float[] {7, 8}, DType.BF16)
                .add("n.weight", new long[] {3}, new float[] {9, 10, 11}, DType.F16));
    WeightCheck c = WeightSet.loader(SPECS).check(List.of(f));
    assertThat(c.ok()).isTrue();
    assertThat(c.storedBytesByDtype()).containsEntry("BF16", 16L).containsEntry("F16", 6L);
    // the 2-D fan-in weight stays 16-bit, the bias and the norm weight are widened
    assertThat(c.residentBytes(true)).isEqualTo(6 * 2 + 2 * 4 + 3 * 4);
    assertThat(c.residentBytes(false)).isEqualTo(11 * 4);
    try (WeightSet w = WeightSet.loader(SPECS).keepHalf(true).load(List.of(f), BE)) {
      assertThat(w.get("a.weight").dtype()).isEqualTo(DType.BF16);
      assertThat(w.get("a.bias").dtype()).isEqualTo(DType.F32);
      assertThat(BE.toArray(w.get("n.weight"))).containsExactly(9, 10, 11);
    }
  }

  @Test
  void aTruncatedFileIsNamed(@TempDir Path dir) throws Exception {
    Path f =
        write(
            dir,
            "cut.safetensors",
            new SafetensorsWriter()
                .add("a.weight", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
    byte[] all = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(all, all.length - 4));
    assertThatThrownBy(() -> WeightSet.loader(SPECS).check(List.of(f)))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("cut.safetensors")
        .hasMessageContaining("truncated");
  }

  @Test
  void missingAndMisshapedTensorsAreAllListed(@TempDir Path dir) throws Exception {
    Path f =
        write(
            dir,
            "bad.safetensors",
            new SafetensorsWriter()
                .add("a.weight", new long[] {3, 2}, new float[] {1, 2, 3, 4, 5, 6})
                .add("n.weight", new long[] {3}, new float[] {9, 10, 11}));
    assertThatThrownBy(() -> WeightSet.load(SPECS, List.of(f), BE, false))
        .isInstanceOfSatisfying(
            WeightLoadException.class,
            e -> {
              assertThat(e.missing()).containsExactly("a.bias");
              assertThat(e.misshaped()).containsExactly("a.weight: expected [2, 3] got [3, 2]");
            })
        .hasMessageContaining("a.bias")
        .hasMessageContaining("a.weight");
  }

  @Test
  void wholeDitCheckpointReportsEveryMissingName(@TempDir Path dir) throws Exception {
    Path f =
        write(
            dir,
            "empty.safetensors",
            new SafetensorsWriter().add("x", new long[] {1}, new float[] {0}));
    List<ParamSpec> dit = HunyuanDit.params(DitConfig.tiny());
    assertThatThrownBy(() -> WeightSet.load(dit, List.of(f), BE, true))
        .isInstanceOfSatisfying(
            WeightLoadException.class,
            e -> {
              assertThat(e.missing()).hasSize(dit.size());
              assertThat(e.missing())
                  .contains(
                      "double_blocks.3.img_attn_q.weight",
                      "final_layer.linear.bias",
                      "txt_in.input_embedder.weight");
            });
  }

  /** A hand-built safetensors file with 16-bit tensors. */
  private static Path halfFile(Path dir) throws Exception {
    short[] bf = {DType.floatToBf16(1.5f), DType.floatToBf16(-2f)};
    short[] hf = {DType.floatToF16(0.25f), DType.floatToF16(3f)};
    String header =
        "{\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[0,4]},"
            + "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
    byte[] hb = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + hb.length + 8).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(hb.length).put(hb);
    for (short s : bf) {
      buf.putShort(s);
    }
    for (short s : hf) {
      buf.putShort(s);
    }
    Path f = dir.resolve("half.safetensors");
    Files.write(f, buf.array());
    return f;
  }

  @Test
  void readsBf16AndF16(@TempDir Path dir) throws Exception {
    try (SafetensorsFile sf = SafetensorsFile.open(halfFile(dir));
        Tensor b = sf.read("b", BE, false);
        Tensor h = sf.read("h", BE, false);
        Tensor kept = sf.read("b", BE, true)) {
      assertThat(BE.toArray(b)).containsExactly(1.5f, -2f);
      assertThat(BE.toArray(h)).containsExactly(0.25f, 3f);
      assertThat(kept.dtype()).isEqualTo(DType.BF16);
    }
  }

  @Test
  void randomInitIsSeededAndLabelled() {
    try (WeightSet a = WeightSet.random(SPECS, BE, 3);
        WeightSet b = WeightSet.random(SPECS, BE, 3);
        WeightSet c = WeightSet.random(SPECS, BE, 4)) {
      assertThat(a.id()).isEqualTo(WeightSet.RANDOM_INIT);
      assertThat(BE.toArray(a.get("a.weight"))).containsExactly(BE.toArray(b.get("a.weight")));
      assertThat(BE.toArray(a.get("a.weight"))).isNotEqualTo(BE.toArray(c.get("a.weight")));
      assertThat(BE.toArray(a.get("a.bias"))).containsOnly(0f);
      assertThat(BE.toArray(a.get("n.weight"))).containsOnly(1f);
    }
  }

  @Test
  void rejectsNonSafetensorsFiles(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("junk.bin");
    Files.write(f, new byte[] {1, 2, 3});
    assertThatThrownBy(() -> WeightSet.load(SPECS, List.of(f), BE, false))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("junk.bin");
  }
}
