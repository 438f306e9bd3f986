package dev.reelflow.engine.vision;

import static dev.reelflow.engine.OfficialGoldens.maxDiff;
import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.GenerationSpec;
import dev.reelflow.engine.OfficialGoldens;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.backend.TorchBackend;
import dev.reelflow.engine.testing.FormulaValues;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The reference-image handling and the SigLIP tower against tools/make_siglip_goldens.py: the
 * official {@code resize_and_center_crop} (run with Pillow 9.4; the torchvision path of the
 * first-frame latents checked equal to it by the script) byte for byte, SigLIP's processor resize
 * (Pillow bicubic) byte for byte, and a tiny SiglipVisionModel (hidden 32, 4 heads, 2 layers, 9
 * tokens) written in PyTorch from the reference modeling code, on formula weights: 1e-5 on outputs
 * of order 1 on both backends (float32).
 */
class SiglipGoldenTest {
  private static final double TOL = 1e-5;
  private static CpuBackend cpu;
  private static TorchBackend torch;
  private static OfficialGoldens g;

  @BeforeAll
  static void open() {
    cpu = new CpuBackend(2);
    torch = TorchBackend.builder().threads(2).build();
    g = OfficialGoldens.open("siglip.safetensors", cpu);
  }

  @AfterAll
  static void close() {
    g.close();
    cpu.close();
    torch.close();
  }

  /** The script's image: byte i = floor((u_i + 1) * 127.5) of input stream "image-CASE", HWC. */
  static GenerationSpec.Image source(String name, int w, int h) {
    float[] u = FormulaValues.input("image-" + name, w * h * 3);
    int[] argb = new int[w * h];
    for (int i = 0; i < w * h; i++) {
      int r = (int) Math.floor(((double) u[3 * i] + 1.0) * 127.5);
      int gr = (int) Math.floor(((double) u[3 * i + 1] + 1.0) * 127.5);
      int b = (int) Math.floor(((double) u[3 * i + 2] + 1.0) * 127.5);
      argb[i] = 0xff000000 | r << 16 | gr << 8 | b;
    }
    return new GenerationSpec.Image(w, h, argb);
  }

  @SuppressWarnings("unchecked")
  private static GenerationSpec.Image crop(String name) {
    Map<String, Object> c = (Map<String, Object>) g.json("cases").get(name);
    List<Number> src = (List<Number>) c.get("source");
    List<Number> dst = (List<Number>) c.get("target");
    return ReferenceImages.fit(
        source(name, src.get(0).intValue(), src.get(1).intValue()),
        dst.get(0).intValue(),
        dst.get(1).intValue());
  }

  private static float[] hwc(GenerationSpec.Image im) {
    byte[] rgb = ReferenceImages.rgb(im);
    float[] out = new float[rgb.length];
    for (int i = 0; i < rgb.length; i++) {
      out[i] = rgb[i] & 0xff;
    }
    return out;
  }

  @Test
  void theReferenceImageIsScaledAndCroppedToTheRenderSizeByteForByte() {
    for (String c : List.of("up", "down", "same", "wide", "odd")) {
      GenerationSpec.Image im = crop(c);
      long[] shape = g.shape("crop." + c);
      assertThat(new long[] {im.height(), im.width(), 3}).as(c).isEqualTo(shape);
      assertThat(hwc(im)).as("crop " + c).containsExactly(g.array("crop." + c));
    }
  }

  @Test
  void theProcessorResizesLikePillowBicubic() {
    SiglipPreprocessor pre = SiglipPreprocessor.fromJson("golden", g.json("preprocessor"));
    for (String c : List.of("up", "big")) {
      byte[] rgb = pre.resize(crop(c));
      float[] got = new float[rgb.length];
      for (int i = 0; i < rgb.length; i++) {
        got[i] = rgb[i] & 0xff;
      }
      assertThat(got).as("resize " + c).containsExactly(g.array("resized." + c));
    }
  }

  @SuppressWarnings("unchecked")
  @Test
  void theParameterNamesAreSiglipVisionModelsWithoutTheHead() {
    SiglipConfig cfg = SiglipConfig.fromJson("golden", g.json("config"));
    Map<String, Object> official = new TreeMap<>(g.json("params"));
    Map<String, Object> ours = new TreeMap<>();
    for (ParamSpec p : SiglipVisionEncoder.params(cfg)) {
      ours.put(p.name(), java.util.Arrays.stream(p.shape()).boxed().toList());
    }
    official.keySet().removeIf(k -> k.startsWith("vision_model.head."));
    assertThat(ours.keySet()).isEqualTo(official.keySet());
    ours.forEach(
        (k, v) ->
            assertThat(v)
                .as(k)
                .isEqualTo(
                    ((List<Number>) official.get(k)).stream().map(Number::longValue).toList()));
    assertThat(cfg.parameterCount())
        .isEqualTo(SiglipVisionEncoder.params(cfg).stream().mapToLong(ParamSpec::size).sum());
    assertThat(SiglipConfig.so400m().parameterCount())
        .isEqualTo(
            SiglipVisionEncoder.params(SiglipConfig.so400m()).stream()
                .mapToLong(ParamSpec::size)
                .sum())
        .isBetween(412_000_000L, 414_000_000L);
  }

  private static void towerMatches(Backend be) {
    SiglipConfig cfg = SiglipConfig.fromJson("golden", g.json("config"));
    SiglipPreprocessor pre = SiglipPreprocessor.fromJson("golden", g.json("preprocessor"));
    WeightSet w = FormulaValues.weights(SiglipVisionEncoder.params(cfg), be);
    try (SiglipVisionEncoder enc = new SiglipVisionEncoder(cfg, pre, w, be, "siglip@formula")) {
      assertThat(enc.tokens()).isEqualTo(9);
      try (Tensor e = enc.embed(pre.apply(crop("up")))) {
        double d = maxDiff(be.toArray(e), g.array("embeddings.up"));
        System.out.printf("SigLIP %s embeddings max |diff| %.2e%n", be.name(), d);
        assertThat(d).isLessThan(TOL);
      }
      for (String c : List.of("up", "big")) {
        double d = maxDiff(enc.encode(crop(c)), g.array("hidden." + c));
        System.out.printf("SigLIP %s last_hidden_state %s max |diff| %.2e%n", be.name(), c, d);
        assertThat(d).as(c).isLessThan(TOL);
      }
    }
  }

  @Test
  void theTowerMatchesTheReferenceOnTheCpuBackend() {
    towerMatches(cpu);
  }

  @Test
  void theTowerMatchesTheReferenceOnTheTorchBackend() {
    towerMatches(torch);
  }
}
