package dev.reelflow.engine.vision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.engine.weights.WeightCheck;
import dev.reelflow.engine.weights.WeightLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading the tower from a checkpoint folder: strict, with stated ignores and clear errors. */
class SiglipVisionEncoderTest {
  @TempDir static Path tmp;
  private static CpuBackend be;

  @BeforeAll
  static void open() {
    be = new CpuBackend(2);
  }

  @AfterAll
  static void close() {
    be.close();
  }

  private static Path folder(String name) throws Exception {
    return SyntheticModelFolder.builder()
        .variants(List.of("480p_i2v"))
        .build()
        .write(tmp.resolve(name));
  }

  private static GenerationSpec.Image image(int w, int h, int salt) {
    int[] px = new int[w * h];
    for (int i = 0; i < px.length; i++) {
      px[i] = 0xff000000 | ((i + salt) * 97) & 0xffffff;
    }
    return new GenerationSpec.Image(w, h, px);
  }

  @Test
  void opensFromTheFolderAndIgnoresThePoolingHeadForAReason() throws Exception {
    Path dir = folder("ok");
    try (SiglipVisionEncoder s = SiglipVisionEncoder.open(ModelFolder.open(dir), be, true)) {
      assertThat(s.id()).startsWith("siglip@sha256:");
      assertThat(s.dim()).isEqualTo(16);
      assertThat(s.tokens()).isEqualTo(4); // 30 px / 14 px patches: 2 x 2, as 384 / 14 gives 27
      float[] a = s.encode(image(64, 48, 0));
      float[] b = s.encode(image(64, 48, 5));
      assertThat(a).hasSize(4 * 16).doesNotContain(Float.NaN);
      assertThat(Arrays.equals(a, b)).isFalse();
      assertThat(s.encode(image(64, 48, 0))).containsExactly(a);
    }
    Path enc = dir.resolve("vision_encoder/siglip/image_encoder");
    WeightCheck check =
        SiglipVisionEncoder.loader(SyntheticModelFolder.SIGLIP)
            .check(List.of(enc.resolve("model.safetensors")));
    assertThat(check.ok()).isTrue();
    assertThat(check.ignored()).containsKey("vision_model.head.probe");
    assertThat(check.ignored().get("vision_model.head.probe")).contains("last_hidden_state");
  }

  @Test
  void aConfigAskingForMoreLayersThanTheWeightsHoldNamesTheMissingTensors() throws Exception {
    Path dir = folder("deeper");
    Path cfg = dir.resolve("vision_encoder/siglip/image_encoder/config.json");
    Files.writeString(
        cfg, Files.readString(cfg).replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
    assertThatThrownBy(
            () -> SiglipVisionEncoder.open(dir.resolve("vision_encoder/siglip"), be, true))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("vision_model.encoder.layers.2.self_attn.q_proj.weight");
  }

  @Test
  void missingProcessorOrMismatchedSizesAreRefusedNamingTheFile() throws Exception {
    Path dir = folder("broken");
    Path siglip = dir.resolve("vision_encoder/siglip");
    Path pre = siglip.resolve("feature_extractor/preprocessor_config.json");
    String json = Files.readString(pre);
    Files.writeString(pre, json.replace("\"height\": 30", "\"height\": 32"));
    assertThatThrownBy(() -> SiglipVisionEncoder.open(siglip, be, true))
        .isInstanceOf(ModelFolderException.class)
        .hasMessageContaining("image_size");
    Files.writeString(pre, json.replace("\"resample\": 3", "\"resample\": 0"));
    assertThatThrownBy(() -> SiglipVisionEncoder.open(siglip, be, true))
        .isInstanceOf(ModelFolderException.class)
        .hasMessageContaining("preprocessor_config.json")
        .hasMessageContaining("resample 0");
    Files.delete(pre);
    assertThatThrownBy(() -> SiglipVisionEncoder.open(siglip, be, true))
        .isInstanceOf(ModelFolderException.class)
        .hasMessageContaining("feature_extractor/preprocessor_config.json")
        .hasMessageContaining("FLUX.1-Redux-dev");
  }
}
