package dev.reelflow.engine.vae;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.weights.WeightSet;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CausalVaeTest {
  private static CpuBackend be;
  private static WeightSet weights;
  private static CausalVae vae;

  @BeforeAll
  static void start() {
    be = new CpuBackend(2);
    weights = WeightSet.random(CausalVae.params(VaeConfig.tiny()), be, 9);
    vae = new CausalVae(VaeConfig.tiny(), weights, be);
  }

  @AfterAll
  static void stop() {
    weights.close();
    be.close();
  }

  private static float[] random(long seed, int n) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  @Test
  void referenceLayoutHasTheOfficialNamesAndCompression() {
    VaeConfig ref = VaeConfig.reference();
    assertThat(ref.latentFrames(121)).isEqualTo(31);
    assertThat(ref.pixelFrames(31)).isEqualTo(121);
    var names = CausalVae.decoderParams(ref).stream().map(p -> p.name()).toList();
    assertThat(names)
        .contains(
            "decoder.conv_in.conv.weight",
            "decoder.mid.attn_1.q.weight",
            "decoder.up.0.block.2.conv2.conv.weight",
            "decoder.up.0.upsample.conv.conv.weight",
            "decoder.up.3.upsample.conv.conv.weight",
            "decoder.norm_out.gamma",
            "decoder.conv_out.conv.weight")
        .doesNotContain("decoder.up.4.upsample.conv.conv.weight");
    var up0 =
        CausalVae.decoderParams(ref).stream()
            .filter(p -> p.name().equals("decoder.up.0.upsample.conv.conv.weight"))
            .findFirst()
            .orElseThrow();
    assertThat(up0.shape()).containsExactly(1024 * 8, 1024, 3, 3, 3);
  }

  @Test
  void decodesWithX16SpatialAndX4CausalTemporalUpsampling() {
    float[] z = random(1, 32 * 3 * 2 * 2);
    float[] z2 = z.clone();
    // change only the last latent frame
    for (int c = 0; c < 32; c++) {
      for (int i = 0; i < 4; i++) {
        z2[(c * 3 + 2) * 4 + i] += 1f;
      }
    }
    try (Tensor a = be.fromArray(z, 32, 3, 2, 2);
        Tensor b = be.fromArray(z2, 32, 3, 2, 2);
        Tensor pa = vae.decode(a);
        Tensor pb = vae.decode(b)) {
      assertThat(pa.shape()).containsExactly(3, 9, 32, 32);
      float[] x = be.toArray(pa);
      float[] y = be.toArray(pb);
      int plane = 32 * 32;
      // frames 0..4 only see latent frames 0..1: unchanged; later frames differ
      double early = 0;
      double late = 0;
      for (int c = 0; c < 3; c++) {
        for (int f = 0; f < 9; f++) {
          for (int i = 0; i < plane; i++) {
            double d = Math.abs(x[(c * 9 + f) * plane + i] - y[(c * 9 + f) * plane + i]);
            if (f < 5) {
              early = Math.max(early, d);
            } else {
              late = Math.max(late, d);
            }
          }
        }
      }
      assertThat(early).isLessThan(1e-6);
      assertThat(late).isGreaterThan(1e-3);
    }
  }

  @Test
  void tiledDecodingKeepsTheFirstTileAndMatchesUntiledWhenOneTileCovers() {
    float[] z = random(2, 32 * 2 * 4 * 4);
    float[] corner = new float[32 * 2 * 2 * 2];
    for (int c = 0; c < 32; c++) {
      for (int f = 0; f < 2; f++) {
        for (int y = 0; y < 2; y++) {
          for (int x = 0; x < 2; x++) {
            corner[((c * 2 + f) * 2 + y) * 2 + x] = z[((c * 2 + f) * 4 + y) * 4 + x];
          }
        }
      }
    }
    try (Tensor t = be.fromArray(z, 32, 2, 4, 4);
        Tensor c = be.fromArray(corner, 32, 2, 2, 2);
        Tensor full = vae.decode(t);
        Tensor one = vae.decodeTiled(t, new VaeTiling(64, 0.25));
        Tensor tiled = vae.decodeTiled(t, new VaeTiling(32, 0.5));
        Tensor cornerPixels = vae.decode(c)) {
      assertThat(be.toArray(one)).containsExactly(be.toArray(full));
      // tiles of 2 latents every latent: 16 tiles, each keeping 16 px after a 16 px blend
      assertThat(tiled.shape()).containsExactly(3, 5, 64, 64);
      // the first tile's kept 16x16 is blended into nothing: exactly the corner tile's decode
      float[] q = be.toArray(tiled);
      float[] k = be.toArray(cornerPixels);
      for (int ch = 0; ch < 3; ch++) {
        for (int f = 0; f < 5; f++) {
          for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
              assertThat(q[((ch * 5 + f) * 64 + y) * 64 + x])
                  .isEqualTo(k[((ch * 5 + f) * 32 + y) * 32 + x]);
            }
          }
        }
      }
      for (float v : q) {
        assertThat(Float.isFinite(v)).isTrue();
      }
    }
  }

  @Test
  void encoderCompressesToLatents() {
    try (Tensor x = be.fromArray(random(3, 3 * 5 * 32 * 48), 3, 5, 32, 48);
        Tensor z = vae.encode(x)) {
      assertThat(z.shape()).containsExactly(32, 2, 2, 3);
      for (float v : be.toArray(z)) {
        assertThat(Float.isFinite(v)).isTrue();
      }
    }
  }
}
