package dev.reelflow.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.checkpoint.ModelCheck;
import dev.reelflow.engine.checkpoint.ModelCheckReport;
import dev.reelflow.engine.checkpoint.ModelFolder;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.dit.DitCondition;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.engine.text.ByteTextEncoder;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.weights.SafetensorsWriter;
import dev.reelflow.engine.weights.WeightLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SR parts from a synthetic checkpoint folder with the released layout and tiny shapes ({@link
 * SyntheticModelFolder}): strict loading, config-driven classes, the real SR transformer (98 input
 * channels) through the whole stage, model check of the upsamplers, and errors that name what is
 * wrong.
 */
class SrCheckpointTest {
  private static CpuBackend be;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    be = new CpuBackend(2);
  }

  @AfterAll
  static void stop() {
    be.close();
  }

  private Path folder() throws IOException {
    return SyntheticModelFolder.builder()
        .variants(List.of("720p_sr_distilled", "1080p_sr_distilled"))
        .build()
        .write(dir.resolve("ckpt"));
  }

  /** Rewrites the 720p upsampler's weights, with one tensor its class does not have if asked. */
  private static void writeUpsampler(Path d, boolean mystery) throws IOException {
    String name = "720p_sr_distilled";
    SafetensorsWriter w = new SafetensorsWriter();
    for (var p :
        SrCheckpoint.upsamplerParams(
            SrVariant.SR_720P, SyntheticModelFolder.upsamplerConfig(name))) {
      w.add(p.name(), p.shape(), new float[(int) p.size()]);
    }
    if (mystery) {
      w.add("mystery.weight", new long[] {2}, new float[2]);
    }
    w.writeTo(d.resolve("upsampler").resolve(name).resolve("diffusion_pytorch_model.safetensors"));
  }

  private static SrCheckpoint load(Path d, SrVariant v) {
    return SrCheckpoint.load(ModelFolder.open(d), v, be, new SrCheckpoint.Options());
  }

  @Test
  void loadsTheReleasedLayoutAndRunsTheRealSrTransformerThroughTheStage() throws IOException {
    Path d = folder();
    try (SrCheckpoint ck = load(d, SrVariant.SR_1080P)) {
      assertThat(ck.upsampler()).isInstanceOf(SrTo1080pUpsampler.class);
      assertThat(ck.ditConfig().inChannels()).isEqualTo(98);
      assertThat(ck.fingerprint()).startsWith("sha256:");
      assertThat(ck.id())
          .contains("ckpt: transformer/1080p_sr_distilled", "upsampler/1080p_sr_distilled");
      ByteTextEncoder text =
          new ByteTextEncoder(ck.ditConfig().textDim(), ck.ditConfig().glyphDim(), 64);
      SrStage stage =
          SrStage.builder()
              .backend(be)
              .variant(SrVariant.SR_1080P)
              .upsampler(ck.upsampler())
              .vae(ck.vae())
              .velocity(
                  new SrTransformer(ck.transformer(), DitCondition.t2v(text.encode("a fox")), be))
              .tiling(new VaeTiling(64, 0.25))
              .bucketBases(32, 48)
              .build();
      float[] base = new float[32 * 2 * 2 * 2];
      java.util.Random r = new java.util.Random(5);
      for (int i = 0; i < base.length; i++) {
        base[i] = (float) r.nextGaussian();
      }
      List<Integer> steps = new ArrayList<>();
      try (Tensor lat = be.fromArray(base, 32, 2, 2, 2);
          Tensor out = stage.denoise(SrStage.Request.of(lat, 9), (p, s, n) -> steps.add(s));
          Tensor px = stage.decode(out)) {
        // 32x32 base (latents x 16) -> the 48-base bucket of ratio 1: 48x48, 3x3 latents
        assertThat(out.shape()).containsExactly(32, 2, 3, 3);
        assertThat(steps).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(px.shape()).containsExactly(3, 5, 48, 48);
        for (float v : be.toArray(px)) {
          assertThat(Float.isFinite(v)).isTrue();
        }
      }
    }
  }

  @Test
  void modelCheckVerifiesTheUpsamplersTensors() throws IOException {
    Path d = folder();
    ModelCheckReport ok = ModelCheck.run(d);
    assertThat(ok.problems()).isEmpty();
    writeUpsampler(d, true);
    assertThat(ModelCheck.run(d).problems())
        .anySatisfy(p -> assertThat(p).contains("upsampler/720p_sr_distilled", "mystery.weight"));
  }

  @Test
  void strictLoadingAndConfigChecksNameTheProblem() throws IOException {
    Path d = folder();
    Path up = d.resolve("upsampler/720p_sr_distilled");
    // an unknown tensor in the upsampler
    writeUpsampler(d, true);
    assertThatThrownBy(() -> load(d, SrVariant.SR_720P))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("mystery.weight");
    writeUpsampler(d, false);
    // the upsampler config of the other class
    SyntheticModelFolder.writeJson(
        up.resolve("config.json"), SyntheticModelFolder.upsamplerConfig("1080p_sr_distilled"));
    assertThatThrownBy(() -> load(d, SrVariant.SR_720P))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("declares SRTo1080pUpsampler")
        .hasMessageContaining("720p_sr_distilled takes a SRTo720pUpsampler");
    SyntheticModelFolder.writeJson(
        up.resolve("config.json"), SyntheticModelFolder.upsamplerConfig("720p_sr_distilled"));
    // a base transformer where the SR one belongs
    Path tr = d.resolve("transformer/720p_sr_distilled");
    Map<String, Object> base = SyntheticModelFolder.transformerConfig("720p_t2v");
    SyntheticModelFolder.writeJson(tr.resolve("config.json"), base);
    assertThatThrownBy(() -> load(d, SrVariant.SR_720P))
        .isInstanceOf(WeightLoadException.class)
        .hasMessageContaining("65 input")
        .hasMessageContaining("needs 98");
    // no upsampler folder
    SyntheticModelFolder.writeJson(
        tr.resolve("config.json"), SyntheticModelFolder.transformerConfig("720p_sr_distilled"));
    for (Path p : Files.list(up).toList()) {
      Files.delete(p);
    }
    Files.delete(up);
    assertThatThrownBy(() -> load(d, SrVariant.SR_720P))
        .isInstanceOf(ModelFolderException.class)
        .hasMessageContaining("upsampler/720p_sr_distilled");
  }

  @Test
  void theVaeEncoderIsIgnoredWithAReasonUnlessAsked() throws IOException {
    Path d = folder();
    try (SrCheckpoint ck = load(d, SrVariant.SR_720P)) {
      assertThat(ck.upsampler()).isInstanceOf(SrTo720pUpsampler.class);
    }
    try (SrCheckpoint ck =
            SrCheckpoint.load(
                ModelFolder.open(d),
                SrVariant.SR_720P,
                be,
                new SrCheckpoint.Options().withEncoder(true));
        Tensor x = be.allocate(3, 1, 16, 16);
        Tensor z = ck.vae().encodeLatents(x)) {
      assertThat(z.shape()).containsExactly(32, 1, 1, 1);
    }
  }
}
