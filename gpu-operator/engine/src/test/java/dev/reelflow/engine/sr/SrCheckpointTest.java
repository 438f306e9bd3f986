package dev.reelflow.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.dit.DitCondition;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsWriter;
import dev.reelflow.engine.weights.WeightLoadException;
import dev.reelflow.engine.weights.WeightSet;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SR parts from a synthetic checkpoint folder with the released layout and tiny shapes: strict
 * loading, config-driven classes, the real SR transformer (98 input channels) through the whole
 * stage, and errors that name what is wrong.
 */
class SrCheckpointTest {
  private static CpuBackend be;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    be = new CpuBackend(2);
  }

  @AfterAll
  static void stop() {
    be.close();
  }

  /** A tiny SR transformer config.json in the released key names. */
  static final String TRANSFORMER_JSON =
      "{\"_class_name\": \"HunyuanVideo_1_5_DiffusionTransformer\", \"patch_size\": [1, 1, 1],"
          + " \"in_channels\": 98, \"concat_condition\": false, \"out_channels\": 32,"
          + " \"hidden_size\": 64, \"heads_num\": 2, \"mlp_width_ratio\": 2.0,"
          + " \"mm_double_blocks_depth\": 1, \"mm_single_blocks_depth\": 0,"
          + " \"rope_dim_list\": [4, 14, 14], \"text_states_dim\": 16, \"glyph_byT5_v2\": false,"
          + " \"vision_projection\": \"none\", \"ideal_resolution\": \"1080p\"}";

  static final String VAE_JSON =
      "{\"_class_name\": \"AutoencoderKLConv3D\", \"block_out_channels\": [8, 16, 32, 64, 64],"
          + " \"downsample_match_channel\": true, \"ffactor_spatial\": 16, \"ffactor_temporal\": 4,"
          + " \"in_channels\": 3, \"latent_channels\": 32, \"layers_per_block\": 1,"
          + " \"out_channels\": 3, \"sample_size\": 256, \"sample_tsize\": 64,"
          + " \"scaling_factor\": 1.03682, \"shift_factor\": null, \"upsample_match_channel\": true}";

  static final String UP1080_JSON =
      "{\"_class_name\": \"SRTo1080pUpsampler\", \"z_channels\": 32, \"out_channels\": 32,"
          + " \"block_out_channels\": [64, 32], \"num_res_blocks\": 1, \"is_residual\": false}";

  static final String UP720_JSON =
      "{\"_class_name\": \"SRTo720pUpsampler\", \"in_channels\": 32, \"out_channels\": 32,"
          + " \"hidden_channels\": 16, \"num_blocks\": 1, \"global_residual\": false}";

  static void writeComponent(Path folder, String configJson, List<ParamSpec> specs, long seed)
      throws IOException {
    Files.createDirectories(folder);
    Files.writeString(folder.resolve("config.json"), configJson);
    SafetensorsWriter w = new SafetensorsWriter();
    try (WeightSet ws = WeightSet.random(specs, be, seed)) {
      ws.all().forEach((n, t) -> w.add(n, t.shape(), be.toArray(t)));
    }
    try (OutputStream out =
        Files.newOutputStream(folder.resolve("diffusion_pytorch_model.safetensors"))) {
      w.writeTo(out);
    }
  }

  /** Writes transformer/, upsampler/ (both variants) and vae/ under {@code dir}. */
  @SuppressWarnings("unchecked")
  static void writeTinyFolder(Path dir) throws IOException {
    Map<String, Object> tj =
        (Map<String, Object>) dev.reelflow.engine.weights.Json.parse(TRANSFORMER_JSON);
    for (SrVariant v : SrVariant.values()) {
      DitConfig dc = DitConfig.fromJson(v.folder(), tj);
      writeComponent(
          dir.resolve("transformer").resolve(v.folder()),
          TRANSFORMER_JSON,
          HunyuanDit.params(dc),
          1);
    }
    writeComponent(
        dir.resolve("upsampler/1080p_sr_distilled"),
        UP1080_JSON,
        SrTo1080pUpsampler.params(
            SrTo1080pUpsampler.Config.fromConfig(
                (Map<String, Object>) dev.reelflow.engine.weights.Json.parse(UP1080_JSON))),
        2);
    writeComponent(
        dir.resolve("upsampler/720p_sr_distilled"),
        UP720_JSON,
        SrTo720pUpsampler.params(
            SrTo720pUpsampler.Config.fromConfig(
                (Map<String, Object>) dev.reelflow.engine.weights.Json.parse(UP720_JSON))),
        3);
    VaeConfig vc =
        VaeConfig.fromConfig(
            "vae", (Map<String, Object>) dev.reelflow.engine.weights.Json.parse(VAE_JSON));
    writeComponent(dir.resolve("vae"), VAE_JSON, CausalVae.params(vc), 4);
  }

  @Test
  void loadsTheReleasedLayoutAndRunsTheRealSrTransformerThroughTheStage() throws IOException {
    writeTinyFolder(dir);
    try (SrCheckpoint ck =
        SrCheckpoint.load(dir, SrVariant.SR_1080P, be, new SrCheckpoint.Options())) {
      assertThat(ck.upsampler()).isInstanceOf(SrTo1080pUpsampler.class);
      assertThat(ck.ditConfig().inChannels()).isEqualTo(98);
      assertThat(ck.id())
          .contains("transformer/1080p_sr_distilled", "upsampler/1080p_sr_distilled");
      ByteTextEncoder text =
          new ByteTextEncoder(ck.ditConfig().textDim(), ck.ditConfig().glyphDim(), 64);
      SrStage stage =
          SrStage.builder()
              .backend(be)
              .variant(SrVariant.SR_1080P)
              .upsampler(ck.upsampler())
              .vae(ck.vae())
              .velocity(
                  new SrTransformer(ck.transformer(), DitCondition.t2v(text.encode("a fox")), be))
              .tiling(new VaeTiling(64, 0.25))
              .bucketBases(32, 48)
              .build();
      float[] base = new float[32 * 2 * 2 * 2];
      java.util.Random r = new java.util.Random(5);
      for (int i = 0; i < base.length; i++) {
        base[i] = (float) r.nextGaussian();
      }
      List<Integer> steps = new ArrayList<>();
      try (Tensor lat = be.fromArray(base, 32, 2, 2, 2);
          Tensor out = stage.denoise(SrStage.Request.of(lat, 9), (s, n, sigma) -> steps.add(s));
          Tensor px = stage.decode(out)) {
        // 32x32 base (latents x 16) -> the 48-base bucket of ratio 1: 48x48, 3x3 latents
        assertThat(out.shape()).containsExactly(32, 2, 3, 3);
        assertThat(steps).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(px.shape()).containsExactly(3, 5, 48, 48);
        for (float v : be.toArray(px)) {
          assertThat(Float.isFinite(v)).isTrue();
        }
      }
    }
  }

  @Test
  void strictLoadingAndConfigChecksNameTheProblem() throws IOException {
    writeTinyFolder(dir);
    // an unknown tensor in the upsampler
    Path up = dir.resolve("upsampler/720p_sr_distilled");
    SafetensorsWriter extra =
        new SafetensorsWriter().add("mystery.weight", new long[] {2}, new float[2]);
    try (OutputStream out = Files.newOutputStream(up.resolve("extra.safetensors"))) {
      extra.writeTo(out);
    }
    assertThatThrownBy(
            () -> SrCheckpoint.load(dir, SrVariant.SR_720P, be, new SrCheckpoint.Options()))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("mystery.weight");
    Files.delete(up.resolve("extra.safetensors"));
    // the upsampler config of the other class
    Files.writeString(up.resolve("config.json"), UP1080_JSON);
    assertThatThrownBy(
            () -> SrCheckpoint.load(dir, SrVariant.SR_720P, be, new SrCheckpoint.Options()))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("SRTo1080pUpsampler")
        .hasMessageContaining("720p_sr_distilled takes a SRTo720pUpsampler");
    Files.writeString(up.resolve("config.json"), UP720_JSON);
    // a base transformer where the SR one belongs
    Path tr = dir.resolve("transformer/720p_sr_distilled");
    Files.writeString(
        tr.resolve("config.json"),
        TRANSFORMER_JSON.replace(
            "\"in_channels\": 98, \"concat_condition\": false", "\"in_channels\": 32"));
    assertThatThrownBy(
            () -> SrCheckpoint.load(dir, SrVariant.SR_720P, be, new SrCheckpoint.Options()))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("65 input")
        .hasMessageContaining("needs 98");
    // no folder at all
    assertThatThrownBy(
            () ->
                SrCheckpoint.load(
                    dir.resolve("nowhere"), SrVariant.SR_720P, be, new SrCheckpoint.Options()))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("has no config.json");
  }

  @Test
  void theVaeEncoderIsIgnoredWithAReasonUnlessAsked() throws IOException {
    writeTinyFolder(dir);
    try (SrCheckpoint ck =
        SrCheckpoint.load(dir, SrVariant.SR_720P, be, new SrCheckpoint.Options())) {
      assertThat(ck.upsampler()).isInstanceOf(SrTo720pUpsampler.class);
    }
    try (SrCheckpoint ck =
            SrCheckpoint.load(
                dir, SrVariant.SR_720P, be, new SrCheckpoint.Options().withEncoder(true));
        Tensor x = be.allocate(3, 1, 16, 16);
        Tensor z = ck.vae().encodeLatents(x)) {
      assertThat(z.shape()).containsExactly(32, 1, 1, 1);
    }
  }
}
