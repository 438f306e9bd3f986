package dev.reelflow.engine.dit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.testing.FormulaValues;
import dev.reelflow.engine.text.TextFeatures;
import dev.reelflow.engine.weights.Json;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.WeightSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The transformer against the official {@code HunyuanVideo_1_5_DiffusionTransformer} itself (run by
 * gpu-operator/engine/tools/make_official_goldens.py on torch 1.13, CPU, float32), one tiny config
 * per released path. Weights and inputs come from {@link FormulaValues} on both sides; the goldens
 * hold the official outputs, the config, the inputs' description and the official parameter names
 * and shapes. Tolerance: 1e-4 absolute on outputs of order 1 (float32, GEMMs of width 256 to 2048
 * and softmax in a different order).
 */
class OfficialTransformerGoldenTest {
  private static CpuBackend be;

  @BeforeAll
  static void open() {
    be = new CpuBackend(2);
  }

  @AfterAll
  static void close() {
    be.close();
  }

  record Case(
      DitConfig config,
      Map<String, List<Long>> officialParams,
      float[] out,
      long[] outShape,
      Map<String, Object> meta) {}

  @SuppressWarnings("unchecked")
  static Case load(String name) throws Exception {
    Path p =
        Path.of(
            OfficialTransformerGoldenTest.class
                .getResource("/engine/official/dit_" + name + ".safetensors")
                .toURI());
    try (SafetensorsFile f = SafetensorsFile.open(p);
        Tensor out = f.read("out", be, false)) {
      Map<String, Object> meta = (Map<String, Object>) Json.parse(f.metadata().get("case"));
      Map<String, Object> json = (Map<String, Object>) meta.get("config");
      DitConfig cfg = DitConfig.fromJson(name, json);
      Map<String, List<Long>> params = new LinkedHashMap<>();
      ((Map<String, Object>) meta.get("params")).forEach((k, v) -> params.put(k, (List<Long>) v));
      return new Case(cfg, params, be.toArray(out), out.shape(), meta);
    }
  }

  private static int num(Object o) {
    return ((Number) o).intValue();
  }

  /** The samples' conditioning as the generator built the official inputs. */
  @SuppressWarnings("unchecked")
  static List<DitCondition> samples(Case c, boolean withPadding) {
    List<DitCondition> out = new ArrayList<>();
    List<Object> samples = (List<Object>) c.meta().get("samples");
    int textDim = c.config().textDim();
    for (int i = 0; i < samples.size(); i++) {
      Map<String, Object> s = (Map<String, Object>) samples.get(i);
      int tv = num(s.get("text_valid"));
      int tp = num(s.get("text_padded"));
      int gv = num(s.get("glyph_valid"));
      int gp = num(s.get("glyph_padded"));
      int vt = num(s.get("vision_tokens"));
      float[] text = Arrays.copyOf(FormulaValues.input("text." + i, tp * textDim), tv * textDim);
      float[] glyph = Arrays.copyOf(FormulaValues.input("glyph." + i, gp * 1472), gv * 1472);
      TextFeatures tf =
          withPadding
              ? new TextFeatures(text, tv, textDim, glyph, gv, 1472, tp, gp)
              : new TextFeatures(text, tv, textDim, glyph, gv, 1472);
      if ("i2v".equals(s.get("vision"))) {
        int vd = Math.max(1, c.config().visionDim());
        out.add(DitCondition.i2v(tf, FormulaValues.input("vision." + i, vt * vd), vt));
      } else {
        out.add(new DitCondition(tf, null, withPadding ? vt : 0));
      }
    }
    return out;
  }

  static float[] run(Case c, List<DitCondition> samples, AttentionConfig attention) {
    DitConfig cfg = c.config();
    List<Long> size = new ArrayList<>();
    for (Object o : (List<Object>) c.meta().get("size")) {
      size.add(((Number) o).longValue());
    }
    long[] shape = {cfg.inChannels(), size.get(0), size.get(1), size.get(2)};
    DitTimestep step = DitTimestep.of(((Number) c.meta().get("timestep")).floatValue());
    if (c.meta().containsKey("timestep_r")) {
      step = step.withTimestepR(((Number) c.meta().get("timestep_r")).floatValue());
    }
    if (c.meta().containsKey("guidance")) {
      step = step.withGuidance(((Number) c.meta().get("guidance")).floatValue());
    }
    int n = (int) (shape[0] * shape[1] * shape[2] * shape[3]);
    try (WeightSet w = FormulaValues.weights(HunyuanDit.params(cfg), be);
        Tensor x = be.fromArray(FormulaValues.input("x", n), shape);
        Tensor v =
            new HunyuanDit(cfg, w, be, attention == null ? cfg.attention() : attention)
                .forward(x, step, samples)) {
      return be.toArray(v);
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

  static double maxAbs(float[] a) {
    double m = 0;
    for (float v : a) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "t2v_cfg",
        "i2v_distilled",
        "i2v_meanflow",
        "guidance_embed",
        "single_patch",
        "sr_channels",
        "alt_options",
        "ssta_t2v",
        "ssta_i2v_hybrid",
        "ssta_image"
      })
  void matchesTheOfficialTransformer(String name) throws Exception {
    Case c = load(name);
    // the same parameters, by name and shape, as the official module
    Map<String, List<Long>> ours = new LinkedHashMap<>();
    for (ParamSpec p : HunyuanDit.params(c.config())) {
      List<Long> s = new ArrayList<>();
      for (long d : p.shape()) {
        s.add(d);
      }
      ours.put(p.name(), s);
    }
    assertThat(ours).containsExactlyInAnyOrderEntriesOf(c.officialParams());
    float[] got = run(c, samples(c, true), null);
    double diff = maxDiff(got, c.out());
    System.out.printf(
        "official transformer %-16s %s max |out| %.3f max diff %.2e%n",
        name, c.config().attention(), maxAbs(c.out()), diff);
    assertThat(maxAbs(c.out())).isGreaterThan(0.05);
    assertThat(diff).isLessThan(1e-4);
  }

  @ParameterizedTest
  @ValueSource(strings = {"ssta_t2v", "ssta_i2v_hybrid"})
  void sstaWithoutTheTextPaddingDiffersMeasurably(String name) throws Exception {
    // repeating the last valid token instead of carrying the padding (the old behaviour)
    Case c = load(name);
    double diff = maxDiff(run(c, samples(c, false), null), c.out());
    System.out.printf("%s without the text padding: max diff %.2e%n", name, diff);
    assertThat(diff).isGreaterThan(1e-3);
  }
}
