package dev.reelflow.engine.sr;

import static dev.reelflow.engine.OfficialGoldens.maxDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.OfficialGoldens;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole SR stage against the official SR pipeline's {@code __call__}
 * (sr_flow_latent/video/1080p.safetensors), run with a stand-in transformer, {@code v = W x +
 * (t/1000) b} per latent pixel, on both sides: bucket map (scaled-down bases 48/64), resize, the
 * official SRTo720pUpsampler, noise mix, the 98-channel condition and its zeroing below t = 700,
 * the 6 Euler steps with shift 2, and the tiled VAE decode. The official initial and lq noise are
 * replayed. Tolerances: per-step timesteps 1e-3, per-step input channel sums 1e-3 (sums of 32
 * values of order 1), final latents 1e-4, decoded video 1e-4 (in [0, 1]).
 */
class OfficialSrFlowTest {
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

  /** The stand-in transformer; records the timesteps and the input's channel sums. */
  static final class StandIn implements SrStage.Velocity {
    final Backend be;
    final float[] weight = OfficialGoldens.det("standin.velocity.weight", new long[] {32, 98}, "w");
    final float[] bias = OfficialGoldens.det("standin.velocity.bias", new long[] {32}, "unit");
    final List<Float> timesteps = new ArrayList<>();
    final List<float[]> channelSums = new ArrayList<>();

    StandIn(Backend be) {
      this.be = be;
    }

    @Override
    public Tensor velocity(Tensor input, float t, float next) {
      int ch = (int) input.dim(0);
      int n = (int) (input.size() / ch);
      float[] x = be.toArray(input);
      float[] sums = new float[ch];
      for (int k = 0; k < ch; k++) {
        double s = 0;
        for (int i = 0; i < n; i++) {
          s += x[k * n + i];
        }
        sums[k] = (float) s;
      }
      timesteps.add(t);
      channelSums.add(sums);
      float[] v = new float[32 * n];
      for (int o = 0; o < 32; o++) {
        for (int i = 0; i < n; i++) {
          double acc = 0;
          for (int k = 0; k < ch; k++) {
            acc += weight[o * ch + k] * x[k * n + i];
          }
          v[o * n + i] = (float) (acc + t / 1000f * bias[o]);
        }
      }
      return be.fromArray(v, 32, input.dim(1), input.dim(2), input.dim(3));
    }
  }

  private record Setup(SrStage stage, StandIn standIn, WeightSet up, WeightSet vae) {}

  private static Setup setup(OfficialGoldens g, SrVariant variant) {
    VaeConfig vc = VaeConfig.fromConfig("sr-tiny", g.json("vae"));
    Map<String, Object> upJson = g.json("upsampler");
    WeightSet uw =
        OfficialGoldens.detWeights(SrCheckpoint.upsamplerParams(variant, upJson), be, dir);
    LatentUpsampler upsampler =
        variant == SrVariant.SR_720P
            ? new SrTo720pUpsampler(SrTo720pUpsampler.Config.fromConfig(upJson), uw, be)
            : new SrTo1080pUpsampler(SrTo1080pUpsampler.Config.fromConfig(upJson), uw, be);
    WeightSet vw = OfficialGoldens.detWeights(CausalVae.params(vc), be, dir);
    Map<String, Object> tile = g.json("tile");
    Map<String, Object> bases = g.json("bucket_bases");
    StandIn standIn = new StandIn(be);
    SrStage stage =
        SrStage.builder()
            .backend(be)
            .variant(variant)
            .upsampler(upsampler)
            .vae(new CausalVae(vc, vw, be))
            .velocity(standIn)
            .tiling(
                new VaeTiling(
                    ((Number) tile.get("sample_size")).intValue(),
                    ((Number) tile.get("tile_overlap_factor")).doubleValue()))
            .bucketBases(
                ((Number) bases.get("lr_base")).intValue(),
                ((Number) bases.get("hr_base")).intValue())
            .build();
    return new Setup(stage, standIn, uw, vw);
  }

  private static Tensor denoise(OfficialGoldens g, String tag, Setup s) {
    try (Tensor lq = g.tensor(tag + ".lq_latents");
        Tensor noise = g.tensor(tag + ".noise");
        Tensor lqNoise = g.tensor(tag + ".lq_noise")) {
      SrStage.Grid grid = s.stage().grid((int) lq.dim(1), (int) lq.dim(2), (int) lq.dim(3));
      assertThat(grid.latentHeight()).isEqualTo(g.shape(tag + ".noise")[2]);
      assertThat(grid.officialBucket()).isTrue();
      return s.stage().denoise(new SrStage.Request(lq, 1234, null, noise, lqNoise), null);
    }
  }

  private static void checkSteps(OfficialGoldens g, String tag, StandIn standIn) {
    float[] ts = g.array(tag + ".timesteps");
    assertThat(standIn.timesteps).hasSize(ts.length);
    float[] sums = g.array(tag + ".input_channel_sums");
    for (int i = 0; i < ts.length; i++) {
      assertThat(Math.abs(standIn.timesteps.get(i) - ts[i])).isLessThan(1e-3f);
      float[] want = java.util.Arrays.copyOfRange(sums, i * 98, (i + 1) * 98);
      assertThat(maxDiff(standIn.channelSums.get(i), want)).as("step %d", i).isLessThan(1e-3);
    }
  }

  @Test
  void finalLatentsMatchTheOfficialPipeline() {
    try (OfficialGoldens g = OfficialGoldens.open("sr_flow_latent.safetensors", be)) {
      Setup s = setup(g, SrVariant.SR_720P);
      try (WeightSet up = s.up();
          WeightSet vae = s.vae();
          Tensor out = denoise(g, "latent", s)) {
        checkSteps(g, "latent", s.standIn());
        double d = maxDiff(be.toArray(out), g.array("latent.output"));
        System.out.printf("official SR flow, final latents     max |diff| %.2e%n", d);
        assertThat(d).isLessThan(1e-4);
      }
    }
  }

  @Test
  void the1080pVariantsFlowMatchesTheOfficialPipeline() {
    try (OfficialGoldens g = OfficialGoldens.open("sr_flow_1080p.safetensors", be)) {
      Setup s = setup(g, SrVariant.SR_1080P);
      try (WeightSet up = s.up();
          WeightSet vae = s.vae();
          Tensor out = denoise(g, "latent", s)) {
        assertThat(s.standIn().timesteps).hasSize(8);
        checkSteps(g, "latent", s.standIn());
        double d = maxDiff(be.toArray(out), g.array("latent.output"));
        System.out.printf("official SR flow 1080p, latents    max |diff| %.2e%n", d);
        assertThat(d).isLessThan(1e-4);
      }
    }
  }

  @Test
  void decodedVideoMatchesTheOfficialPipeline() {
    try (OfficialGoldens g = OfficialGoldens.open("sr_flow_video.safetensors", be)) {
      Setup s = setup(g, SrVariant.SR_720P);
      try (WeightSet up = s.up();
          WeightSet vae = s.vae();
          Tensor lat = denoise(g, "video", s);
          Tensor px = s.stage().decode(lat)) {
        checkSteps(g, "video", s.standIn());
        float[] v = be.toArray(px);
        for (int i = 0; i < v.length; i++) {
          v[i] = Math.max(0f, Math.min(1f, v[i] / 2 + 0.5f)); // the pipeline's output transform
        }
        assertThat(px.shape()).containsExactly(g.shape("video.output"));
        double d = maxDiff(v, g.array("video.output"));
        System.out.printf("official SR flow, decoded video     max |diff| %.2e%n", d);
        assertThat(d).isLessThan(1e-4);
      }
    }
  }
}
