package dev.reelflow.engine.sr;

import static dev.reelflow.engine.OfficialGoldens.maxDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.OfficialGoldens;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.sampler.FlowMatchSchedule;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The SR pipeline's pieces against the official code (sr_pieces.safetensors): per-frame bilinear
 * resize (1e-6), BucketMap for both variants (exact), the scheduler and SR settings (sigmas 1e-6,
 * timesteps 1e-3 on a 0..1000 scale, the t &lt; 700 decisions exact), the noise mix and both
 * conditions (1e-6).
 */
class OfficialSrPiecesTest {
  private static CpuBackend be;
  private static OfficialGoldens g;

  @BeforeAll
  static void start() {
    be = new CpuBackend(2);
    g = OfficialGoldens.open("sr_pieces.safetensors", be);
  }

  @AfterAll
  static void stop() {
    g.close();
    be.close();
  }

  @Test
  void bilinearResizePerFrameMatchesInterpolate() {
    try (Tensor x = g.tensor("resize.input")) {
      for (int[] hw : new int[][] {{6, 8}, {3, 7}, {9, 11}}) {
        String key = "resize." + hw[0] + "x" + hw[1];
        try (Tensor out = LatentResize.resize(be, x, hw[0], hw[1])) {
          assertThat(out.shape()).containsExactly(g.shape(key));
          double d = maxDiff(be.toArray(out), g.array(key));
          System.out.printf("official SR resize %-10s max |diff| %.2e%n", hw[0] + "x" + hw[1], d);
          assertThat(d).isLessThan(1e-6);
        }
      }
    }
  }

  @Test
  void bucketMapOfBothVariants() {
    for (SrVariant v : SrVariant.values()) {
      Map<String, Object> bases = g.json("buckets." + v.folder());
      assertThat(((Number) bases.get("lr_base")).intValue()).isEqualTo(v.lrBaseSize());
      assertThat(((Number) bases.get("hr_base")).intValue()).isEqualTo(v.hrBaseSize());
      float[] rows = g.array("buckets." + v.folder());
      List<int[]> lr = SrBuckets.cropSizes(v.lrBaseSize());
      assertThat(lr).hasSize(rows.length / 4);
      for (int i = 0; i < lr.size(); i++) {
        assertThat(lr.get(i)).containsExactly((int) rows[4 * i], (int) rows[4 * i + 1]);
        assertThat(SrBuckets.hrSize(lr.get(i)[0], lr.get(i)[1], v.hrBaseSize()))
            .as("%s %dx%d", v, lr.get(i)[0], lr.get(i)[1])
            .containsExactly((int) rows[4 * i + 2], (int) rows[4 * i + 3]);
        assertThat(SrBuckets.isBucket(lr.get(i)[0], lr.get(i)[1], v.lrBaseSize())).isTrue();
      }
    }
    // the worked example of the reference notes: 1280x720 -> 1904x1072
    assertThat(SrBuckets.hrSize(1280, 720, 1440)).containsExactly(1904, 1072);
  }

  @Test
  void schedulerAndSettingsOfBothVariants() {
    for (SrVariant v : SrVariant.values()) {
      Map<String, Object> cfg = g.json("sr_config." + v.folder());
      assertThat(((Number) cfg.get("num_inference_steps")).intValue()).isEqualTo(v.steps());
      assertThat(((Number) cfg.get("flow_shift")).doubleValue()).isEqualTo(v.shift());
      assertThat(((Number) cfg.get("guidance_scale")).doubleValue()).isEqualTo(v.guidance());
      assertThat(cfg.get("base_resolution")).isEqualTo(v.baseResolution());
      assertThat(cfg.get("embedded_guidance_scale")).isNull();
      float[] sigmas = FlowMatchSchedule.sigmas(v.steps(), v.shift());
      assertThat(maxDiff(sigmas, g.array("scheduler." + v.folder() + ".sigmas"))).isLessThan(1e-6);
      float[] want = g.array("scheduler." + v.folder() + ".timesteps");
      float[] ours = FlowMatchSchedule.timesteps(sigmas);
      assertThat(maxDiff(ours, want)).isLessThan(1e-3);
      for (int i = 0; i < want.length; i++) {
        assertThat(SrCondition.usesLowRes(ours[i]))
            .as("%s step %d at t=%f", v, i, want[i])
            .isEqualTo(!(want[i] < 700f));
      }
    }
    // 1080p: 4 steps see lq, 4 do not; 720p: 3 and 3
    assertThat(lowResSteps(SrVariant.SR_1080P)).isEqualTo(4);
    assertThat(lowResSteps(SrVariant.SR_720P)).isEqualTo(3);
  }

  private static int lowResSteps(SrVariant v) {
    int n = 0;
    for (float t : FlowMatchSchedule.timesteps(FlowMatchSchedule.sigmas(v.steps(), v.shift()))) {
      n += SrCondition.usesLowRes(t) ? 1 : 0;
    }
    return n;
  }

  @Test
  void noiseMixAndBothConditionsAsTheOfficialPipelineBuildsThem() {
    try (Tensor lq = g.tensor("cond.lq_upsampled");
        Tensor noise = g.tensor("cond.lq_noise");
        Tensor mixed = be.allocate(lq.shape());
        Tensor image = g.tensor("cond.image")) {
      SrCondition.mixNoise(be, lq, noise, mixed);
      assertThat(maxDiff(be.toArray(mixed), g.array("cond.lq_mixed"))).isLessThan(1e-6);
      for (String task : List.of("t2v", "i2v")) {
        try (Tensor cond = SrCondition.build(be, mixed, task.equals("i2v") ? image : null);
            Tensor zeroed = SrCondition.withoutLowRes(be, cond, 32)) {
          assertThat(cond.shape()).containsExactly(66, 3, 2, 3);
          float[] c = be.toArray(cond);
          int half = 33 * 3 * 2 * 3;
          float[] head = java.util.Arrays.copyOfRange(c, 0, half);
          float[] tail = java.util.Arrays.copyOfRange(c, half, c.length);
          assertThat(maxDiff(head, g.array("cond." + task + ".cond_latents")))
              .as(task)
              .isLessThan(1e-6);
          assertThat(maxDiff(tail, g.array("cond.lq_cond"))).as(task).isLessThan(1e-6);
          // zeroed once t < 700: the lq part and its ones channel, the first 33 channels kept
          float[] z = be.toArray(zeroed);
          assertThat(java.util.Arrays.copyOfRange(z, 0, half)).containsExactly(head);
          for (int i = half; i < z.length; i++) {
            assertThat(z[i]).isZero();
          }
        }
      }
      float[] mask = g.array("cond.i2v.task_mask");
      assertThat(mask).containsExactly(1f, 0f, 0f);
      assertThat(g.array("cond.t2v.task_mask")).containsExactly(0f, 0f, 0f);
    }
  }
}
