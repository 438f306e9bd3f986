package dev.reelflow.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.checkpoint.TransformerVariant;
import dev.reelflow.engine.checkpoint.VariantName.Kind;
import dev.reelflow.engine.sampler.SamplerDefaults;
import dev.reelflow.engine.testing.FormulaValues;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.vision.SiglipVisionEncoder;
import dev.reelflow.engine.vision.VisionEncoder;
import dev.reelflow.engine.weights.WeightLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine built from the synthetic checkpoint folder: every released base path renders. */
class NativeVideoEngineFolderTest {
  @TempDir static Path tmp;
  private static Path dir;
  private static ModelFolder folder;
  private static CpuBackend backend;

  /** A stand-in SigLIP for tests: formula values, not an image encoder. */
  private static final VisionEncoder TEST_VISION =
      new VisionEncoder() {
        @Override
        public String id() {
          return "test-formula-vision";
        }

        @Override
        public int dim() {
          return 16;
        }

        @Override
        public int tokens() {
          return 9;
        }

        @Override
        public float[] encode(GenerationSpec.Image image) {
          return FormulaValues.input("vision", 9 * 16);
        }
      };

  @BeforeAll
  static void write() throws Exception {
    dir = SyntheticModelFolder.writeDefault(tmp.resolve("hv15"));
    folder = ModelFolder.open(dir);
    backend = new CpuBackend(2);
  }

  @AfterAll
  static void close() {
    backend.close();
  }

  private static NativeVideoEngine engine(String variant) {
    return NativeVideoEngine.builder()
        .backend(backend)
        .modelFolder(folder, variant)
        .visionEncoder(TEST_VISION)
        .vaeTiling(new VaeTiling(64, 0.25))
        .build();
  }

  private static GenerationSpec.Builder spec(SamplerDefaults d) {
    return GenerationSpec.builder()
        .prompt("a lighthouse, a sign reading \"OPEN\"")
        .size(64, 48)
        .frames(5)
        .steps(2)
        .guidance(d.guidance())
        .shift(d.shift());
  }

  private static GenerationSpec.Image image() {
    int[] px = new int[64 * 48];
    for (int i = 0; i < px.length; i++) {
      px[i] = 0xff000000 | ((i * 97) & 0xffffff);
    }
    return new GenerationSpec.Image(64, 48, px);
  }

  @Test
  void textToVideoFromTheFolderNamesVariantAndFingerprint() {
    TransformerVariant v = folder.select("480p", false, List.of(Kind.DISTILLED));
    try (NativeVideoEngine e = engine(v.name())) {
      GenerationResult r = e.generate(spec(v.samplerDefaults()).build(), null);
      assertThat(r.modelId()).isEqualTo("hunyuanvideo-1.5-480p_t2v_distilled");
      assertThat(r.weightsId())
          .startsWith("dit=480p_t2v_distilled@" + v.fingerprint() + ";vae=vae@sha256:");
      assertThat(e.checkpoint().orElseThrow().folder()).isEqualTo(dir.toAbsolutePath());
      assertThat(e.samplerDefaults().orElseThrow().guidance()).isEqualTo(1.0);
      assertThat(r.frames()).hasSize(5);
      assertThat(r.latents()).doesNotContain(Float.NaN);
    }
  }

  @Test
  void cfgOnTheShardedBf16VariantAndSstaOnTheSparseOne() {
    try (NativeVideoEngine e = engine("480p_t2v")) {
      GenerationResult r = e.generate(spec(SamplerDefaults.forVariant("480p_t2v")).build(), null);
      assertThat(r.latents()).doesNotContain(Float.NaN);
    }
    try (NativeVideoEngine e = engine("720p_i2v_distilled_sparse")) {
      GenerationResult r =
          e.generate(
              spec(SamplerDefaults.forVariant("720p_i2v_distilled_sparse"))
                  .firstFrame(image())
                  .build(),
              null);
      assertThat(r.attention()).startsWith("ssta(tile=1x2x2");
      assertThat(r.latents()).doesNotContain(Float.NaN);
    }
  }

  @Test
  void stepDistilledImageToVideoUsesTheMeanFlowInput() {
    SamplerDefaults d = SamplerDefaults.forVariant("480p_i2v_step_distilled");
    try (NativeVideoEngine e = engine("480p_i2v_step_distilled")) {
      GenerationResult r = e.generate(spec(d).firstFrame(image()).build(), null);
      assertThat(r.latents()).doesNotContain(Float.NaN);
    }
    try (NativeVideoEngine e =
        NativeVideoEngine.builder()
            .backend(backend)
            .modelFolder(folder, "480p_i2v_step_distilled")
            .build()) {
      assertThatThrownBy(() -> e.generate(spec(d).firstFrame(image()).build(), null))
          .hasMessageContaining("configure a vision encoder");
      assertThatThrownBy(() -> e.generate(spec(d).build(), null))
          .hasMessageContaining("trained for i2v but the render is text-to-video");
    }
    try (NativeVideoEngine e = engine("720p_sr_distilled")) {
      assertThatThrownBy(() -> e.generate(spec(d).build(), null))
          .hasMessageContaining("98 input channels");
    }
  }

  @Test
  void imageToVideoWithTheFoldersSiglipTower() {
    SamplerDefaults d = SamplerDefaults.forVariant("480p_i2v");
    try (SiglipVisionEncoder siglip = SiglipVisionEncoder.open(folder, backend, true);
        NativeVideoEngine e =
            NativeVideoEngine.builder()
                .backend(backend)
                .modelFolder(folder, "480p_i2v")
                .visionEncoder(siglip)
                .vaeTiling(new VaeTiling(64, 0.25))
                .build()) {
      assertThat(e.visionEncoderId()).contains(siglip.id());
      // a reference image of another size and aspect is fitted to the render size
      int[] px = new int[90 * 90];
      for (int i = 0; i < px.length; i++) {
        px[i] = 0xff000000 | (i * 7919) & 0xffffff;
      }
      GenerationResult r =
          e.generate(spec(d).firstFrame(new GenerationSpec.Image(90, 90, px)).build(), null);
      GenerationResult other = e.generate(spec(d).firstFrame(image()).build(), null);
      assertThat(r.latents()).doesNotContain(Float.NaN);
      assertThat(java.util.Arrays.equals(r.latents(), other.latents())).isFalse();
    }
  }

  @Test
  void aCorruptVariantFailsToBuildNamingTheTensor() throws Exception {
    Path copy =
        SyntheticModelFolder.builder()
            .variants(List.of("720p_t2v"))
            .build()
            .write(tmp.resolve("corrupt"));
    Path f = copy.resolve("transformer/720p_t2v/diffusion_pytorch_model.safetensors");
    // a config that asks for mean-flow weights the file does not have
    Path cfg = copy.resolve("transformer/720p_t2v/config.json");
    Files.writeString(
        cfg, Files.readString(cfg).replace("\"use_meanflow\": false", "\"use_meanflow\": true"));
    assertThat(f).exists();
    assertThatThrownBy(
            () ->
                NativeVideoEngine.builder()
                    .backend(backend)
                    .modelFolder(ModelFolder.open(copy), "720p_t2v")
                    .build())
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("time_r_in.mlp.0.weight");
  }
}
