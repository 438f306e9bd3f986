package dev.reelflow.engine.sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.testing.FormulaValues;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.SafetensorsFile;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The sampler defaults and schedule against the official code (make_official_goldens.py): the
 * official PIPELINE_CONFIGS / SR_PIPELINE_CONFIGS (read from the official module, stored in the
 * golden's metadata) equal {@link SamplerDefaults}, and for every variant the official
 * FlowMatchDiscreteScheduler's sigmas, timesteps, the pipeline's mean-flow timestep_r and one Euler
 * step equal ours (float32, 1e-6 on sigmas and steps, 1e-3 on timesteps of order 1000).
 */
class OfficialSchedulerGoldenTest {
  private static CpuBackend be;
  private static SafetensorsFile golden;

  @BeforeAll
  static void open() throws Exception {
    be = new CpuBackend(1);
    golden =
        SafetensorsFile.open(
            Path.of(
                OfficialSchedulerGoldenTest.class
                    .getResource("/engine/official/scheduler.safetensors")
                    .toURI()));
  }

  @AfterAll
  static void close() throws Exception {
    golden.close();
    be.close();
  }

  private static float[] g(String name) throws Exception {
    try (Tensor t = golden.read(name, be, false)) {
      return be.toArray(t);
    }
  }

  private static double maxDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyVariantsDefaultsAndScheduleMatchTheOfficialPipeline() throws Exception {
    Map<String, Object> official =
        (Map<String, Object>) Json.parse(golden.metadata().get("pipeline_configs"));
    assertThat(SamplerDefaults.table().keySet())
        .containsExactlyInAnyOrderElementsOf(official.keySet());
    for (var e : official.entrySet()) {
      String v = e.getKey();
      Map<String, Object> o = (Map<String, Object>) e.getValue();
      SamplerDefaults d = SamplerDefaults.forVariant(v);
      assertThat(d.steps()).as(v).isEqualTo(((Number) o.get("steps")).intValue());
      assertThat(d.shift()).as(v).isEqualTo(((Number) o.get("shift")).doubleValue());
      assertThat(d.guidance()).as(v).isEqualTo(((Number) o.get("guidance_scale")).doubleValue());
      assertThat(d.hasEmbeddedGuidance()).as(v).isEqualTo(o.get("embedded_guidance_scale") != null);
      SchedulerConfig sc = SchedulerConfig.official(d.shift());
      float[] sigmas = sc.sigmas(d.steps());
      float[] ts = sc.timesteps(sigmas);
      assertThat(maxDiff(sigmas, g(v + ".sigmas"))).as(v).isLessThan(1e-6);
      assertThat(maxDiff(ts, g(v + ".timesteps"))).as(v).isLessThan(1e-3);
      assertThat(maxDiff(FlowMatchSchedule.meanFlowTimestepR(ts), g(v + ".timesteps_r")))
          .as(v)
          .isLessThan(1e-3);
      int mid = d.steps() / 2;
      try (Tensor x = be.fromArray(FormulaValues.input("sched.x", 6), 2, 3);
          Tensor vel = be.fromArray(FormulaValues.input("sched.v", 6), 2, 3)) {
        be.axpby(1f, x, sigmas[mid + 1] - sigmas[mid], vel, x);
        assertThat(maxDiff(be.toArray(x), g(v + ".step_mid"))).as(v).isLessThan(1e-6);
      }
    }
    System.out.println("scheduler goldens: " + official.size() + " variants match");
  }

  @Test
  @SuppressWarnings("unchecked")
  void srRoutingAndUnknownVariants() throws Exception {
    Map<String, Object> sr = (Map<String, Object>) Json.parse(golden.metadata().get("sr_versions"));
    assertThat(sr).containsEntry("480p_t2v", "720p_sr_distilled");
    assertThat(sr).containsEntry("720p_i2v_distilled_sparse", "1080p_sr_distilled");
    assertThat(SamplerDefaults.forVariant("480p_i2v_step_distilled").steps()).isEqualTo(12);
    assertThat(SamplerDefaults.forVariant("720p_t2v").classifierFreeGuidance()).isTrue();
    assertThatThrownBy(() -> SamplerDefaults.forVariant("540p_t2v"))
        .hasMessageContaining("540p_t2v")
        .hasMessageContaining("480p_t2v");
  }

  @Test
  void schedulerFolderConfigIsReadAndChecked() {
    SchedulerConfig c =
        SchedulerConfig.fromJson(
            Map.of(
                "_class_name",
                "FlowMatchDiscreteScheduler",
                "num_train_timesteps",
                1000L,
                "shift",
                7.0,
                "reverse",
                true,
                "solver",
                "euler"));
    assertThat(c).isEqualTo(SchedulerConfig.official(7.0));
    assertThatThrownBy(() -> SchedulerConfig.fromJson(Map.of("solver", "heun")))
        .hasMessageContaining("heun");
    assertThatThrownBy(() -> SchedulerConfig.fromJson(Map.of("shift_terminal", 0.1)))
        .hasMessageContaining("shift_terminal");
    float[] mirrored = new SchedulerConfig(1000, 1.0, false, "euler", false).sigmas(4);
    assertThat(mirrored).containsExactly(0f, 0.25f, 0.5f, 0.75f, 1f);
  }
}
