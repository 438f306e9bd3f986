package dev.reelflow.engine.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.DType;
import dev.reelflow.engine.checkpoint.VariantName.Kind;
import dev.reelflow.engine.testing.FormulaValues;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFolderTest {
  @TempDir static Path tmp;
  private static Path folder;
  private static CpuBackend be;

  @BeforeAll
  static void write() throws Exception {
    folder = SyntheticModelFolder.writeDefault(tmp.resolve("hv15"));
    be = new CpuBackend(2);
  }

  @AfterAll
  static void close() {
    be.close();
  }

  @Test
  void listsTheReleasedVariantsAndReadsEachConfig() {
    ModelFolder f = ModelFolder.open(folder);
    assertThat(f.variants()).containsExactlyInAnyOrderElementsOf(VariantName.RELEASED);
    assertThat(f.variant("720p_i2v_distilled_sparse").config().attention().mode())
        .isEqualTo(AttentionConfig.Mode.SSTA);
    assertThat(f.variant("720p_i2v_distilled").config().attention().mode())
        .isEqualTo(AttentionConfig.Mode.DENSE);
    assertThat(f.variant("480p_i2v_step_distilled").config().meanFlow()).isTrue();
    assertThat(f.variant("480p_i2v").config().meanFlow()).isFalse();
    assertThat(f.variant("1080p_sr_distilled").config().inChannels()).isEqualTo(98);
    assertThat(f.variant("480p_t2v").config().inChannels()).isEqualTo(65);
    assertThat(f.variant("480p_t2v").files().sharded()).isTrue();
    assertThat(f.variant("480p_t2v").files().files()).hasSize(2);
    assertThat(f.variant("720p_t2v").files().sharded()).isFalse();
    for (String v : VariantName.RELEASED) {
      assertThat(f.variant(v).configProblems()).as(v).isEmpty();
      assertThat(f.variant(v).check().ok()).as(v).isTrue();
    }
    assertThat(f.vae().config()).containsEntry("latent_channels", 32L);
    assertThat(f.upsamplers()).containsExactly("1080p_sr_distilled", "720p_sr_distilled");
    assertThat(f.upsampler("1080p_sr_distilled").dir()).isDirectory();
    assertThat(f.scheduler().orElseThrow().config()).containsEntry("shift", 7.0);
    assertThat(f.textEncoder("llm").dir()).endsWith(Path.of("text_encoder", "llm"));
    assertThat(f.visionEncoder().dir()).endsWith(Path.of("vision_encoder", "siglip"));
  }

  @Test
  void selectsByResolutionTaskAndPreferenceWithClearErrors() {
    ModelFolder f = ModelFolder.open(folder);
    assertThat(f.select("720p", true, List.of(Kind.SPARSE, Kind.DISTILLED)).name())
        .isEqualTo("720p_i2v_distilled_sparse");
    // no 720p T2V sparse or distilled variant is released: the preference falls through to base
    assertThat(f.select("720p", false, List.of(Kind.SPARSE, Kind.DISTILLED, Kind.BASE)).name())
        .isEqualTo("720p_t2v");
    assertThat(f.select("480p", true, List.of(Kind.STEP_DISTILLED)).name())
        .isEqualTo("480p_i2v_step_distilled");
    assertThatThrownBy(() -> f.select("480p", false, List.of(Kind.STEP_DISTILLED, Kind.SPARSE)))
        .isInstanceOf(ModelFolderException.class)
        .hasMessageContaining("480p text-to-video")
        .hasMessageContaining(
            "transformer/480p_t2v_step_distilled or transformer/480p_t2v_distilled_sparse")
        .hasMessageContaining("480p_t2v_distilled");
    assertThat(f.srVariantFor(f.variant("480p_i2v")).orElseThrow().name())
        .isEqualTo("720p_sr_distilled");
    assertThat(f.srVariantFor(f.variant("720p_t2v")).orElseThrow().name())
        .isEqualTo("1080p_sr_distilled");
    assertThatThrownBy(() -> f.variant("540p_t2v"))
        .hasMessageContaining("540p_t2v")
        .hasMessageContaining("480p_i2v_step_distilled");
    assertThat(VariantName.parse("720p_sr_distilled").orElseThrow().task())
        .isEqualTo(VariantName.Task.SR);
    assertThat(VariantName.parse("720p_sr")).isEmpty();
  }

  @Test
  void fingerprintCoversConfigAndHeadersAndIsStable() throws Exception {
    Path other =
        SyntheticModelFolder.builder()
            .variants(List.of("480p_t2v", "720p_t2v"))
            .build()
            .write(tmp.resolve("copy"));
    ModelFolder a = ModelFolder.open(folder);
    ModelFolder b = ModelFolder.open(other);
    assertThat(b.variant("480p_t2v").fingerprint())
        .startsWith("sha256:")
        .isEqualTo(a.variant("480p_t2v").fingerprint());
    assertThat(a.variant("720p_t2v").fingerprint())
        .isNotEqualTo(a.variant("480p_t2v").fingerprint());
    // another storage dtype changes the headers
    Path bf =
        SyntheticModelFolder.builder()
            .variants(List.of("720p_t2v"))
            .storage("720p_t2v", DType.BF16)
            .build()
            .write(tmp.resolve("bf16"));
    assertThat(ModelFolder.open(bf).variant("720p_t2v").fingerprint())
        .isNotEqualTo(a.variant("720p_t2v").fingerprint());
    // a config edit changes it too
    Path cfg = other.resolve("transformer/720p_t2v/config.json");
    Files.writeString(
        cfg, Files.readString(cfg).replace("\"rope_theta\": 256", "\"rope_theta\": 257"));
    assertThat(ModelFolder.open(other).variant("720p_t2v").fingerprint())
        .isNotEqualTo(a.variant("720p_t2v").fingerprint());
  }

  @Test
  void loadsShardedBf16F16AndF32VariantsStrictly() {
    ModelFolder f = ModelFolder.open(folder);
    String name = "double_blocks.0.img_attn_q.weight";
    float[] formula = FormulaValues.parameter(name, new long[] {64, 64});
    for (var e :
        Map.of("480p_t2v", DType.BF16, "720p_t2v", DType.F16, "480p_i2v", DType.F32).entrySet()) {
      try (WeightSet w = f.variant(e.getKey()).load(be, true)) {
        assertThat(w.get(name).dtype()).as(e.getKey()).isEqualTo(e.getValue());
        assertThat(w.get("img_in.proj.bias").dtype()).isEqualTo(DType.F32);
      }
    }
    try (WeightSet w = f.variant("480p_t2v").load(be, false)) {
      float[] got = be.toArray(w.get(name));
      for (int i = 0; i < got.length; i++) {
        assertThat(got[i]).isEqualTo(DType.bf16ToFloat(DType.floatToBf16(formula[i])));
      }
    }
  }

  @Test
  void notACheckpointFolder() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertThatThrownBy(() -> ModelFolder.open(empty))
        .isInstanceOf(ModelFolderException.class)
        .hasMessageContaining("no transformer/");
    assertThatThrownBy(() -> ModelFolder.open(tmp.resolve("nope")))
        .hasMessageContaining("is not a folder");
  }
}
