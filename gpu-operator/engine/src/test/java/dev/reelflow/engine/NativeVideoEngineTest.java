package dev.reelflow.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.attention.AttentionConfig;
import dev.reelflow.engine.backend.CpuBackend;
import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.dit.HunyuanDit;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import dev.reelflow.engine.vision.ReferenceImages;
import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.SafetensorsWriter;
import dev.reelflow.engine.weights.WeightSet;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeVideoEngineTest {
  private static CpuBackend backend;
  private static NativeVideoEngine engine;

  @BeforeAll
  static void start() {
    backend = new CpuBackend(2);
    engine =
        NativeVideoEngine.builder()
            .model("tiny")
            .backend(backend)
            .vaeTiling(new VaeTiling(64, 0.25))
            .build();
  }

  @AfterAll
  static void stop() {
    engine.close();
    backend.close();
  }

  private static GenerationSpec.Builder small() {
    return GenerationSpec.builder().prompt("a red fox").size(64, 48).frames(5).steps(2);
  }

  @Test
  void sameSeedIsBitIdenticalAndSeedsDiffer() {
    GenerationResult a = engine.generate(small().seed(7).build(), null);
    GenerationResult b = engine.generate(small().seed(7).build(), null);
    GenerationResult c = engine.generate(small().seed(8).build(), null);
    assertThat(Arrays.equals(a.latents(), b.latents())).isTrue();
    assertThat(Arrays.equals(a.latents(), c.latents())).isFalse();
    assertThat(a.latentShape()).containsExactly(32, 2, 3, 4);
    assertThat(a.frames()).hasSize(5);
    assertThat(a.frames().get(0)).hasSize(64 * 48);
    assertThat(a.weightsId()).isEqualTo("random-init");
    assertThat(a.modelId()).isEqualTo("hunyuanvideo-1.5-tiny");
    assertThat(a.backend()).isEqualTo("cpu");
    for (float v : a.latents()) {
      assertThat(Float.isFinite(v)).isTrue();
    }
  }

  @Test
  void chineseAndEnglishPromptsConditionDifferently() {
    GenerationResult en = engine.generate(small().prompt("a cat on a roof").build(), null);
    GenerationResult zh = engine.generate(small().prompt("屋顶上的猫").build(), null);
    GenerationResult quoted =
        engine.generate(small().prompt("a sign that says \"OPEN\"").build(), null);
    assertThat(Arrays.equals(en.latents(), zh.latents())).isFalse();
    assertThat(Arrays.equals(en.latents(), quoted.latents())).isFalse();
  }

  @Test
  void listenerSeesEveryStepAndCanCancel() {
    AtomicInteger seen = new AtomicInteger();
    engine.generate(
        small().steps(3).build(),
        (phase, step, total) -> {
          assertThat(phase).isEqualTo(StepListener.DENOISE);
          assertThat(total).isEqualTo(3);
          seen.incrementAndGet();
        });
    assertThat(seen.get()).isEqualTo(3);
    assertThatThrownBy(
            () ->
                engine.generate(
                    small().steps(3).build(),
                    (p, s, n) -> {
                      if (s == 2) {
                        throw new java.util.concurrent.CancellationException("stop at 2");
                      }
                    }))
        .isInstanceOf(GenerationCancelledException.class)
        .hasMessageContaining("after 2 step");
    assertThatThrownBy(
            () ->
                engine.generate(
                    small().build(),
                    (p, s, n) -> {
                      throw new IllegalStateException("cancelled by command");
                    }))
        .isInstanceOf(GenerationCancelledException.class)
        .hasRootCauseMessage("cancelled by command");
  }

  @Test
  void imageToVideoUsesTheFirstFrame() {
    int[] px = new int[64 * 48];
    Arrays.fill(px, 0xff3366cc);
    GenerationResult i2v =
        engine.generate(small().firstFrame(new GenerationSpec.Image(64, 48, px)).build(), null);
    GenerationResult t2v = engine.generate(small().build(), null);
    assertThat(Arrays.equals(i2v.latents(), t2v.latents())).isFalse();
  }

  @Test
  void aReferenceImageOfAnotherSizeIsScaledAndCroppedToTheRenderSize() {
    int[] px = new int[100 * 90];
    for (int i = 0; i < px.length; i++) {
      px[i] = 0xff000000 | (i * 40503) & 0xffffff;
    }
    GenerationSpec.Image big = new GenerationSpec.Image(100, 90, px);
    GenerationSpec.Image fitted = ReferenceImages.fit(big, 64, 48);
    assertThat(fitted.width()).isEqualTo(64);
    assertThat(fitted.height()).isEqualTo(48);
    GenerationResult a = engine.generate(small().firstFrame(big).build(), null);
    GenerationResult b = engine.generate(small().firstFrame(fitted).build(), null);
    assertThat(Arrays.equals(a.latents(), b.latents())).isTrue();
  }

  @Test
  void rejectsBadSpecs() {
    assertThatThrownBy(() -> small().size(60, 48).build()).hasMessageContaining("multiples of 16");
    assertThatThrownBy(() -> small().frames(6).build()).hasMessageContaining("4k+1");
  }

  @Test
  void latentsRoundTripThroughSafetensors(@TempDir Path dir) throws Exception {
    GenerationResult r = engine.generate(small().build(), null);
    Path f = dir.resolve("latents.safetensors");
    try (OutputStream out = Files.newOutputStream(f)) {
      r.writeLatents(out);
    }
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertThat(sf.metadata()).containsEntry("weights", "random-init");
      assertThat(backend.toArray(sf.read("latents", backend, false))).containsExactly(r.latents());
    }
  }

  @Test
  void checkpointWithTheSameWeightsReproducesRandomInit(@TempDir Path dir) throws Exception {
    DitConfig small =
        DitConfig.builder()
            .name("small")
            .hidden(64)
            .heads(2)
            .depth(1)
            .mlpWidthRatio(2)
            .ropeDims(new int[] {4, 14, 14})
            .textDim(64)
            .refinerDepth(1)
            .glyph(32, 32)
            .visionDim(0)
            .build();
    Path ckpt = dir.resolve("dit.safetensors");
    try (WeightSet w = WeightSet.random(HunyuanDit.params(small), backend, 0);
        OutputStream out = Files.newOutputStream(ckpt)) {
      SafetensorsWriter sw = new SafetensorsWriter();
      w.all().forEach((name, t) -> sw.add(name, t.shape(), backend.toArray(t)));
      sw.writeTo(out);
    }
    GenerationSpec spec = small().build();
    try (NativeVideoEngine random =
            NativeVideoEngine.builder()
                .backend(backend)
                .model(small)
                .vae(VaeConfig.tiny())
                .vaeTiling(new VaeTiling(64, 0.25))
                .build();
        NativeVideoEngine loaded =
            NativeVideoEngine.builder()
                .backend(backend)
                .model(small)
                .vae(VaeConfig.tiny())
                .ditCheckpoint(List.of(ckpt))
                .vaeTiling(new VaeTiling(64, 0.25))
                .build()) {
      GenerationResult a = random.generate(spec, null);
      GenerationResult b = loaded.generate(spec, null);
      assertThat(a.weightsId()).isEqualTo("random-init");
      assertThat(b.weightsId()).isEqualTo("dit=dit.safetensors;vae=random-init");
      assertThat(b.latents()).containsExactly(a.latents());
    }
  }

  @Test
  void sstaModeRunsEndToEndAndComesCloserToDenseTheMoreTilesItKeeps() {
    // Tile-level SSTA is checked against dense attention in SstaAttentionTest/TorchParityTest; here
    // the whole render on the tiny model's 2x3x4 token grid (random-init weights): keeping every
    // tile (a window over all) must come closer to the dense render than keeping only each tile's
    // own and its top-scoring one, and that must differ from dense (the sparse path ran). Not
    // equal to dense even with every tile: SSTA pads the text tokens to whole tiles.
    GenerationSpec spec = small().seed(7).build();
    float[] dense = engine.generate(spec, null).latents();
    AttentionConfig tiles = AttentionConfig.ssta().withTile(1, 1, 2);
    double everyTile =
        TorchParityTest.relError(
            sstaLatents(tiles.withWindow(99, 99, 99).withTopk(0), spec), dense);
    double topOne =
        TorchParityTest.relError(sstaLatents(tiles.withWindow(1, 1, 1).withTopk(1), spec), dense);
    assertThat(topOne).as("SSTA keeping its own and the top tile vs dense").isGreaterThan(1e-3);
    assertThat(everyTile)
        .as("SSTA keeping every tile vs dense (top tile only: %s)", topOne)
        .isLessThan(topOne);
  }

  private static float[] sstaLatents(AttentionConfig attention, GenerationSpec spec) {
    try (NativeVideoEngine ssta =
        NativeVideoEngine.builder()
            .model("tiny")
            .backend(backend)
            .attention(attention)
            .vaeTiling(new VaeTiling(64, 0.25))
            .build()) {
      GenerationResult r = ssta.generate(spec, null);
      assertThat(r.attention()).startsWith("ssta");
      return r.latents();
    }
  }
}
