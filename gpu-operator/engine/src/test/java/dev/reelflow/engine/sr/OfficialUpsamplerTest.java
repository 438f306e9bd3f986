package dev.reelflow.engine.sr;

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
 * Both latent upsamplers against the official SRTo720pUpsampler / SRTo1080pUpsampler
 * (upsamplers.safetensors): configs in config.json keys, exactly the official tensor names, outputs
 * within 1e-5 absolute (values of order 1).
 */
class OfficialUpsamplerTest {
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

  @Test
  void bothUpsamplersMatchTheOfficialModules() {
    try (OfficialGoldens g = OfficialGoldens.open("upsamplers.safetensors", be);
        Tensor x = g.tensor("input")) {
      for (String tag : List.of("u720", "u720r", "u1080")) {
        Map<String, Object> cfg = g.json(tag);
        List<ParamSpec> specs =
            tag.equals("u1080")
                ? SrTo1080pUpsampler.params(SrTo1080pUpsampler.Config.fromConfig(cfg))
                : SrTo720pUpsampler.params(SrTo720pUpsampler.Config.fromConfig(cfg));
        assertThat(specs.stream().map(ParamSpec::name).sorted().toList())
            .isEqualTo(g.names(tag + ".tensors").stream().sorted().toList());
        try (WeightSet w = OfficialGoldens.detWeights(specs, be, dir)) {
          LatentUpsampler up =
              tag.equals("u1080")
                  ? new SrTo1080pUpsampler(SrTo1080pUpsampler.Config.fromConfig(cfg), w, be)
                  : new SrTo720pUpsampler(SrTo720pUpsampler.Config.fromConfig(cfg), w, be);
          assertThat(up.className()).isEqualTo(cfg.get("_class_name"));
          try (Tensor out = up.upsample(x)) {
            assertThat(out.shape()).containsExactly(g.shape(tag + ".output"));
            double d = maxDiff(be.toArray(out), g.array(tag + ".output"));
            System.out.printf("official upsampler %-6s max |diff| %.2e%n", tag, d);
            assertThat(d).isLessThan(1e-5);
          }
        }
      }
      // the global residual is real: with and without differ by the input
      assertThat(maxDiff(g.array("u720.output"), g.array("u720r.output"))).isGreaterThan(0.1);
    }
  }

  @Test
  void configErrorsNameTheKeys() {
    assertThatThrownBy(
            () ->
                SrTo720pUpsampler.Config.fromConfig(
                    Map.of("in_channels", 32L, "hidden", 64L, "_class_name", "SRTo720pUpsampler")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown keys [hidden]")
        .hasMessageContaining("missing keys [out_channels]");
    assertThat(SrTo720pUpsampler.Config.fromConfig(Map.of("in_channels", 32L, "out_channels", 32L)))
        .isEqualTo(new SrTo720pUpsampler.Config(32, 32, 64, 6, false));
    assertThatThrownBy(
            () ->
                SrTo1080pUpsampler.Config.fromConfig(
                    Map.of("z_channels", 32L, "out_channels", 32L, "block_out_channels", 64L)))
        .hasMessageContaining("block_out_channels must be a list");
  }
}
