package dev.reelflow.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.dit.Rope3d;
import dev.reelflow.engine.sampler.FlowMatchSchedule;
import dev.reelflow.engine.vae.CausalVae;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Compares the engine with golden tensors from an independent PyTorch implementation
 * (gpu-operator/engine/tools/make_engine_goldens.py, float32 on the CPU). Tolerances are absolute
 * on values of order 1: 1e-5 for element-wise kernels, 1e-4 for anything with GEMMs or softmax.
 */
class GoldenTensorTest {
  private static CpuBackend be;
  private static SafetensorsFile golden;
  private static Path goldenPath;

  @BeforeAll
  static void open() throws Exception {
    be = new CpuBackend(2);
    goldenPath = Path.of(GoldenTensorTest.class.getResource("/engine/goldens.safetensors").toURI());
    golden = SafetensorsFile.open(goldenPath);
  }

  @AfterAll
  static void close() throws Exception {
    golden.close();
    be.close();
  }

  private static Tensor g(String name) throws Exception {
    return golden.read(name, be, false);
  }

  private static float[] ga(String name) throws Exception {
    try (Tensor t = g(name)) {
      return be.toArray(t);
    }
  }

  static double maxDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  @Test
  void perHeadRmsNorm() throws Exception {
    try (Tensor x = g("rms.x");
        Tensor w = g("rms.weight");
        Tensor out = be.allocate(5, 16)) {
      be.rmsNorm(x, w, 1e-6f, 8, out);
      assertThat(maxDiff(be.toArray(out), ga("rms.out"))).isLessThan(1e-5);
    }
  }

  @Test
  void rope3dTablesAndRotation() throws Exception {
    float[][] t = Rope3d.tables(new int[] {3, 4, 5}, new int[] {8, 28, 28}, 256);
    assertThat(maxDiff(t[0], ga("rope.cos"))).isLessThan(1e-5);
    assertThat(maxDiff(t[1], ga("rope.sin"))).isLessThan(1e-5);
    try (Tensor x = g("rope.x");
        Tensor cos = be.fromArray(t[0], 60, 32);
        Tensor sin = be.fromArray(t[1], 60, 32);
        Tensor out = be.allocate(60, 128)) {
      be.rope(x, 2, 64, cos, sin, 60, out);
      assertThat(maxDiff(be.toArray(out), ga("rope.out"))).isLessThan(1e-5);
    }
  }

  @Test
  void oneDualStreamBlock() throws Exception {
    DitConfig cfg =
        DitConfig.builder()
            .name("golden")
            .hidden(32)
            .heads(2)
            .depth(1)
            .ropeDims(new int[] {4, 6, 6})
            .textDim(16)
            .refinerDepth(1)
            .glyph(8, 16)
            .visionDim(0)
            .build();
    List<ParamSpec> block =
        HunyuanDit.params(cfg).stream()
            .filter(p -> p.name().startsWith("double_blocks.0."))
            .toList();
    int[] grid = {2, 3, 4};
    float[][] rope = Rope3d.tables(grid, cfg.ropeDims(), 256);
    try (WeightSet w =
            WeightSet.loader(block)
                .ignore("(?!double_blocks\\.0\\.).*", "the golden file's other fixtures")
                .load(List.of(goldenPath), be);
        Tensor img = g("block.img");
        Tensor txt = g("block.txt");
        Tensor vec = g("block.vec");
        Tensor sv = be.allocate(1, 32);
        Tensor cos = be.fromArray(rope[0], 24, 8);
        Tensor sin = be.fromArray(rope[1], 24, 8)) {
      be.silu(vec, sv);
      HunyuanDit dit = new HunyuanDit(cfg, w, be, AttentionConfig.dense());
      dit.doubleBlock(0, img, txt, 1, new int[] {7}, sv, grid, cos, sin);
      assertThat(maxDiff(be.toArray(img), ga("block.img_out"))).isLessThan(1e-4);
      assertThat(maxDiff(be.toArray(txt), ga("block.txt_out"))).isLessThan(1e-4);
    }
  }

  @Test
  void vaeCausalConvAndUpsampling() throws Exception {
    List<ParamSpec> specs =
        List.of(
            new ParamSpec("conv.weight", new long[] {5, 4, 3, 3, 3}, ParamSpec.Init.FAN_IN),
            new ParamSpec("conv.bias", new long[] {5}, ParamSpec.Init.ZEROS),
            new ParamSpec(
                "up_t.conv.conv.weight", new long[] {32, 8, 3, 3, 3}, ParamSpec.Init.FAN_IN),
            new ParamSpec("up_t.conv.conv.bias", new long[] {32}, ParamSpec.Init.ZEROS),
            new ParamSpec(
                "up_s.conv.conv.weight", new long[] {16, 8, 3, 3, 3}, ParamSpec.Init.FAN_IN),
            new ParamSpec("up_s.conv.conv.bias", new long[] {16}, ParamSpec.Init.ZEROS));
    try (WeightSet w =
            WeightSet.loader(specs)
                .ignore(
                    "(?!(conv|up_[ts]\\.conv\\.conv)\\.(weight|bias)$).*",
                    "the golden file's other fixtures")
                .load(List.of(goldenPath), be);
        Tensor x = g("conv.x");
        Tensor ut = g("up_t.x");
        Tensor us = g("up_s.x")) {
      CausalVae vae = new CausalVae(VaeConfig.tiny(), w, be);
      try (Tensor out = vae.causalConv(x, "conv")) {
        assertThat(out.shape()).containsExactly(5, 5, 6, 7);
        assertThat(maxDiff(be.toArray(out), ga("conv.out"))).isLessThan(1e-4);
      }
      try (Tensor out = vae.upsample(ut, "up_t", true)) {
        // first frame is not up-sampled in time: 3 latent frames -> 1 + 2*2
        assertThat(out.shape()).containsExactly(4, 5, 8, 10);
        assertThat(maxDiff(be.toArray(out), ga("up_t.out"))).isLessThan(1e-4);
      }
      try (Tensor out = vae.upsample(us, "up_s", false)) {
        assertThat(out.shape()).containsExactly(4, 3, 8, 10);
        assertThat(maxDiff(be.toArray(out), ga("up_s.out"))).isLessThan(1e-4);
      }
    }
  }

  @Test
  void shiftedSigmaSchedule() throws Exception {
    assertThat(maxDiff(FlowMatchSchedule.sigmas(10, 5), ga("sigmas.10.5"))).isLessThan(1e-6);
    assertThat(maxDiff(FlowMatchSchedule.sigmas(50, 7), ga("sigmas.50.7"))).isLessThan(1e-6);
    float[] ts = FlowMatchSchedule.timesteps(FlowMatchSchedule.sigmas(50, 7));
    assertThat(ts).hasSize(50);
    assertThat(ts[0]).isEqualTo(1000f);
  }
}
