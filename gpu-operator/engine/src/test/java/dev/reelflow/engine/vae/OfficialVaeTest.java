package dev.reelflow.engine.vae;

import static dev.reelflow.engine.OfficialGoldens.maxDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.OfficialGoldens;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The VAE against the official {@code AutoencoderKLConv3D} (tools/make_official_vae_sr_goldens.py,
 * float32, CPU), both configs read from config.json keys: "a" (x16/x4, shift_factor 0.25) and "b"
 * (x8/x2, down/upsample_match_channel false). Tolerance: 1e-4 absolute on pixels of order 1.
 */
class OfficialVaeTest {
  private static final double TOL = 1e-4;
  private static CpuBackend be;
  @TempDir static Path dir;

  @BeforeAll
  static void start() {
    be = new CpuBackend(2);
  }

  @AfterAll
  static void stop() {
    be.close();
  }

  /** Asserts the tolerance and prints the measured difference (the report quotes it). */
  private static void close(String what, float[] got, float[] want) {
    double d = maxDiff(got, want);
    System.out.printf("official VAE %-28s max |diff| %.2e%n", what, d);
    assertThat(d).as(what).isLessThan(TOL);
  }

  private static CausalVae vae(VaeConfig cfg, WeightSet w) {
    return new CausalVae(cfg, w, be);
  }

  @Test
  void configDrivesTheTensorLayoutExactlyAsTheOfficialStateDict() {
    try (OfficialGoldens g = OfficialGoldens.open("vae_decode.safetensors", be)) {
      for (String tag : List.of("a", "b")) {
        VaeConfig cfg = VaeConfig.fromConfig(tag, g.json("vae_" + tag));
        List<String> ours = CausalVae.params(cfg).stream().map(ParamSpec::name).sorted().toList();
        assertThat(ours).isEqualTo(g.names("vae_" + tag + ".tensors").stream().sorted().toList());
      }
      VaeConfig b = VaeConfig.fromConfig("b", g.json("vae_b"));
      assertThat(b.downsampleMatchChannel()).isFalse();
      assertThat(b.shiftFactor()).isZero();
      assertThat(VaeConfig.fromConfig("a", g.json("vae_a")).shiftFactor()).isEqualTo(0.25f);
    }
  }

  @Test
  void decodesLikeTheOfficialPipelineIncludingScalingAndShift() {
    try (OfficialGoldens g = OfficialGoldens.open("vae_decode.safetensors", be)) {
      for (String tag : List.of("a", "b")) {
        VaeConfig cfg = VaeConfig.fromConfig(tag, g.json("vae_" + tag));
        try (WeightSet w = OfficialGoldens.detWeights(CausalVae.params(cfg), be, dir);
            Tensor z = g.tensor(tag + ".latents");
            Tensor px = vae(cfg, w).decodeLatents(z, new VaeTiling(1024, 0.25))) {
          assertThat(px.shape()).containsExactly(g.shape(tag + ".decoded"));
          close("decode " + tag, be.toArray(px), g.array(tag + ".decoded"));
        }
      }
    }
  }

  @Test
  void encodesLikeTheOfficialVaeAndBuildsTheI2vCondition() {
    try (OfficialGoldens g = OfficialGoldens.open("vae_decode.safetensors", be)) {
      for (String tag : List.of("a", "b")) {
        VaeConfig cfg = VaeConfig.fromConfig(tag, g.json("vae_" + tag));
        try (WeightSet w = OfficialGoldens.detWeights(CausalVae.params(cfg), be, dir);
            Tensor x = g.tensor(tag + ".pixels");
            Tensor mean = vae(cfg, w).encode(x);
            Tensor cond = vae(cfg, w).encodeLatents(x)) {
          close("encode " + tag, be.toArray(mean), g.array(tag + ".encoded_mean"));
          close("i2v condition " + tag, be.toArray(cond), g.array(tag + ".cond_latents"));
        }
      }
    }
  }

  @Test
  void spatiallyTiledDecodeBlendsTilesInPlaceAsTheOfficialCode() {
    try (OfficialGoldens g = OfficialGoldens.open("vae_tiled.safetensors", be)) {
      for (String tag : List.of("b", "a")) {
        VaeConfig cfg = VaeConfig.fromConfig(tag, g.json("vae_" + tag));
        Map<String, Object> tile = g.json("tile_" + tag);
        VaeTiling tiling =
            new VaeTiling(
                ((Number) tile.get("sample_size")).intValue(),
                ((Number) tile.get("tile_overlap_factor")).doubleValue());
        try (WeightSet w = OfficialGoldens.detWeights(CausalVae.params(cfg), be, dir);
            Tensor z = g.tensor(tag + ".latents");
            Tensor tiled = vae(cfg, w).decodeTiled(z, tiling);
            Tensor whole = vae(cfg, w).decode(z)) {
          float[] want = g.array(tag + ".decoded");
          assertThat(tiled.shape()).containsExactly(g.shape(tag + ".decoded"));
          close("tiled decode " + tag, be.toArray(tiled), want);
          // the seams are real: the untiled decode differs from the official tiled one
          assertThat(maxDiff(be.toArray(whole), want)).as(tag).isGreaterThan(1e-2);
        }
      }
    }
  }

  @Test
  void longClipsAreTiledInSpaceOnlyAsTheOfficialVaeRefusesTemporalTiles() {
    try (OfficialGoldens g = OfficialGoldens.open("vae_long.safetensors", be)) {
      assertThat(g.meta("temporal_tiling")).contains("not supported");
      VaeConfig cfg = VaeConfig.fromConfig("b", g.json("vae_b"));
      assertThat(g.shape("b.latents")[1]).isGreaterThan(cfg.sampleTsize() / cfg.temporalFactor());
      try (WeightSet w = OfficialGoldens.detWeights(CausalVae.params(cfg), be, dir);
          Tensor z = g.tensor("b.latents");
          Tensor px = vae(cfg, w).decodeTiled(z, new VaeTiling(32, 0.25))) {
        assertThat(px.shape()).containsExactly(g.shape("b.decoded"));
        close("long clip, tiled b", be.toArray(px), g.array("b.decoded"));
      }
    }
  }

  @Test
  void officialTileGeometries() {
    VaeConfig ref = VaeConfig.reference();
    VaeTiling big = VaeTiling.forDeviceMemory(24L << 30);
    assertThat(big).isEqualTo(new VaeTiling(256, 0.125));
    assertThat(big.tileLatent(ref)).isEqualTo(16);
    assertThat(big.strideLatent(ref)).isEqualTo(14);
    assertThat(big.blendPixels()).isEqualTo(32);
    assertThat(big.keepPixels()).isEqualTo(224);
    VaeTiling small = VaeTiling.forDeviceMemory(0);
    assertThat(small).isEqualTo(new VaeTiling(128, 0.25));
    assertThat(small.tileLatent(ref)).isEqualTo(8);
    assertThat(small.strideLatent(ref)).isEqualTo(6);
    assertThat(small.blendPixels()).isEqualTo(32);
    assertThatThrownBy(() -> new VaeTiling(32, 0.25).tileLatent(ref))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be an integer");
  }

  @Test
  void configErrorsNameTheKeys() {
    Map<String, Object> cfg =
        new java.util.LinkedHashMap<>(
            Map.of(
                "in_channels", 3L,
                "out_channels", 3L,
                "latent_channels", 32L,
                "block_out_channels", List.of(128L, 256L, 512L, 1024L, 1024L),
                "layers_per_block", 2L,
                "ffactor_spatial", 16L,
                "ffactor_temporal", 4L,
                "sample_size", 256L,
                "sample_tsize", 64L,
                "scaling_factor", 1.03682));
    cfg.put("shift_factor", null);
    cfg.put("_class_name", "AutoencoderKLConv3D");
    assertThat(VaeConfig.fromConfig("released", cfg))
        .isEqualTo(
            new VaeConfig(
                "released",
                3,
                3,
                32,
                new int[] {128, 256, 512, 1024, 1024},
                2,
                16,
                4,
                256,
                64,
                1.03682f,
                0f,
                true,
                true));
    cfg.put("use_refiner", true);
    cfg.remove("ffactor_temporal");
    assertThatThrownBy(() -> VaeConfig.fromConfig("bad", cfg))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown keys [use_refiner]")
        .hasMessageContaining("missing keys [ffactor_temporal]");
    cfg.remove("use_refiner");
    cfg.put("ffactor_temporal", 4L);
    cfg.put("block_out_channels", List.of(128L, 256L, 512L, 1000L));
    assertThatThrownBy(() -> VaeConfig.fromConfig("bad", cfg))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("levels");
  }
}
