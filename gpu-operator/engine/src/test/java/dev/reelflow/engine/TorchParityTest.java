package dev.reelflow.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.attention.SstaAttention;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.weights.WeightSet;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine's models on {@link TorchBackend} (libtorch CPU) equal the same models on {@link
 * CpuBackend}: the DiT forward (tiny config, seeded random weights, dense and SSTA attention), the
 * VAE decode, and SSTA itself, including SSTA with a window over every tile equal to dense
 * attention over the padded sequence. Tolerances are relative to the largest output magnitude: 1e-4
 * for float32 on both sides, 3e-2 where TorchBackend runs attention in bf16 (the CUDA precision
 * policy, exercised here on the CPU).
 */
class TorchParityTest {
  private static CpuBackend cpu;
  private static TorchBackend torch;
  private static TorchBackend mixed;

  @BeforeAll
  static void open() {
    cpu = new CpuBackend(2);
    torch = TorchBackend.builder().threads(2).build();
    mixed = TorchBackend.builder().threads(2).precision(TorchBackend.Precision.MIXED16).build();
  }

  @AfterAll
  static void close() {
    cpu.close();
    torch.close();
    mixed.close();
  }

  private static float[] random(long seed, int n) {
    Random r = new Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  /** Largest absolute difference relative to max(1e-6, largest |expected|). */
  static double relError(float[] actual, float[] expected) {
    assertThat(actual).hasSameSizeAs(expected);
    double scale = 1e-6;
    double err = 0;
    for (int i = 0; i < expected.length; i++) {
      scale = Math.max(scale, Math.abs(expected[i]));
      double d = Math.abs((double) actual[i] - expected[i]);
      err = Math.max(err, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
    }
    return err / scale;
  }

  private static float[] ditForward(Backend be, AttentionConfig attention) {
    DitConfig cfg = DitConfig.tiny().toBuilder().depth(2).build();
    int[] grid = {3, 6, 10};
    ByteTextEncoder enc = new ByteTextEncoder(cfg.textDim(), cfg.glyphDim(), 1000);
    List<TextFeatures> texts =
        List.of(enc.encode(""), enc.encode("a lighthouse at dusk, a sign \"OPEN\""));
    float[] input = random(5, cfg.inChannels() * grid[0] * grid[1] * grid[2]);
    try (WeightSet w = WeightSet.random(HunyuanDit.params(cfg), be, 7);
        Tensor x = be.fromArray(input, cfg.inChannels(), grid[0], grid[1], grid[2])) {
      HunyuanDit dit = new HunyuanDit(cfg, w, be, attention);
      try (Tensor v = dit.forward(x, 700f, texts)) {
        assertThat(v.shape()).containsExactly(2, cfg.latentChannels(), grid[0], grid[1], grid[2]);
        return be.toArray(v);
      }
    }
  }

  @Test
  void ditForwardDenseMatchesCpuBackend() {
    AttentionConfig dense = AttentionConfig.dense();
    float[] ref = ditForward(cpu, dense);
    assertThat(relError(ditForward(torch, dense), ref)).isLessThan(1e-4);
    assertThat(relError(ditForward(mixed, dense), ref)).isLessThan(3e-2);
  }

  @Test
  void ditForwardSstaMatchesCpuBackend() {
    AttentionConfig ssta = AttentionConfig.ssta().withTile(2, 4, 4).withTopk(2);
    float[] ref = ditForward(cpu, ssta);
    assertThat(relError(ditForward(torch, ssta), ref)).isLessThan(1e-4);
  }

  private static float[] vaeDecode(Backend be) {
    float[] z = random(11, 32 * 3 * 2 * 3);
    try (WeightSet w = WeightSet.random(CausalVae.params(VaeConfig.tiny()), be, 9);
        Tensor zt = be.fromArray(z, 32, 3, 2, 3)) {
      CausalVae vae = new CausalVae(VaeConfig.tiny(), w, be);
      try (Tensor px = vae.decode(zt)) {
        return be.toArray(px);
      }
    }
  }

  @Test
  void onCudaTheDitForwardAndVaeDecodeMatchCpuBackend() {
    String why = cudaUnavailable();
    org.junit.jupiter.api.Assumptions.assumeTrue(why == null, () -> "CUDA parity skipped: " + why);
    try (TorchBackend cuda = TorchBackend.builder().cuda(0).build()) {
      AttentionConfig ssta = AttentionConfig.ssta().withTile(2, 4, 4).withTopk(2);
      assertThat(relError(ditForward(cuda, ssta), ditForward(cpu, ssta))).isLessThan(3e-2);
      assertThat(relError(vaeDecode(cuda), vaeDecode(cpu))).isLessThan(1e-3);
    }
  }

  private static String cudaUnavailable() {
    try {
      dev.reelflow.engine.backend.TorchRuntime.requireCuda(0);
      return null;
    } catch (dev.reelflow.engine.backend.BackendUnavailableException e) {
      return e.getMessage();
    }
  }

  @Test
  void vaeDecodeMatchesCpuBackend() {
    float[] ref = vaeDecode(cpu);
    assertThat(ref.length).isEqualTo(3 * 9 * 32 * 48);
    assertThat(relError(vaeDecode(torch), ref)).isLessThan(1e-4);
  }

  private record SstaRun(float[] out, double kept) {}

  private static SstaRun ssta(Backend be, AttentionConfig cfg, int[] grid, int text, int heads) {
    int d = 32;
    int rows = grid[0] * grid[1] * grid[2] + text;
    int ld = heads * d;
    try (Tensor q = be.fromArray(random(1, rows * ld), rows, ld);
        Tensor k = be.fromArray(random(2, rows * ld), rows, ld);
        Tensor v = be.fromArray(random(3, rows * ld), rows, ld);
        Tensor o = be.allocate(rows, ld)) {
      SstaAttention.Stats s =
          new SstaAttention(cfg)
              .attend(be, q, k, v, o, grid, text, heads, d, (float) (1 / Math.sqrt(d)));
      return new SstaRun(be.toArray(o), s.keptFraction());
    }
  }

  @Test
  void sstaWithTopkMatchesCpuBackendIncludingTheSelectedTiles() {
    AttentionConfig cfg = AttentionConfig.ssta().withTile(2, 4, 4).withTopk(3);
    int[] grid = {8, 16, 20};
    SstaRun ref = ssta(cpu, cfg, grid, 21, 3);
    SstaRun got = ssta(torch, cfg, grid, 21, 3);
    assertThat(ref.kept()).isBetween(0.05, 0.95);
    assertThat(got.kept()).isEqualTo(ref.kept());
    assertThat(relError(got.out(), ref.out())).isLessThan(1e-4);
    assertThat(relError(ssta(mixed, cfg, grid, 21, 3).out(), ref.out())).isLessThan(3e-2);
  }

  @Test
  void sstaWithAWindowOverEveryTileEqualsDenseOverThePaddedSequence() {
    AttentionConfig all =
        AttentionConfig.ssta().withTile(2, 4, 4).withWindow(99, 99, 99).withTopk(0);
    int[] grid = {3, 6, 7};
    int text = 13;
    int heads = 2;
    int d = 32;
    for (Backend be : new Backend[] {cpu, torch}) {
      SstaRun s = ssta(be, all, grid, text, heads);
      assertThat(s.kept()).isEqualTo(1.0);
      SstaAttention sa = new SstaAttention(all);
      SstaAttention.Layout l = sa.layout(grid, text);
      int[] perm = SstaAttention.permutation(l, text);
      int rows = grid[0] * grid[1] * grid[2] + text;
      int ld = heads * d;
      int padded = l.paddedTokens();
      float[] dense;
      try (Tensor q = be.fromArray(random(1, rows * ld), rows, ld);
          Tensor k = be.fromArray(random(2, rows * ld), rows, ld);
          Tensor v = be.fromArray(random(3, rows * ld), rows, ld);
          Tensor pq = be.allocate(padded, ld);
          Tensor pk = be.allocate(padded, ld);
          Tensor pv = be.allocate(padded, ld);
          Tensor po = be.allocate(padded, ld)) {
        be.gatherRows(q, perm, pq);
        be.gatherRows(k, perm, pk);
        be.gatherRows(v, perm, pv);
        be.attention(pq, pk, pv, po, heads, d, (float) (1 / Math.sqrt(d)));
        float[] p = be.toArray(po);
        dense = new float[rows * ld];
        boolean[] seen = new boolean[rows];
        for (int i = 0; i < perm.length; i++) {
          if (perm[i] >= 0 && !seen[perm[i]]) {
            seen[perm[i]] = true;
            System.arraycopy(p, i * ld, dense, perm[i] * ld, ld);
          }
        }
      }
      assertThat(relError(s.out(), dense)).as(be.name()).isLessThan(1e-4);
      assertThat(Arrays.stream(toDoubles(s.out())).anyMatch(x -> x != 0)).isTrue();
    }
  }

  private static double[] toDoubles(float[] a) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i];
    }
    return d;
  }
}
