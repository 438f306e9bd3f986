package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.worker.spi.BaseVideoEngine;
import dev.reelflow.worker.spi.BaseVideoJob;
import dev.reelflow.worker.spi.BaseVideoResult;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.ReferenceImage;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native adapter over the tiny Java engine: steps, cancellation, frames and latents. */
class NativeEngineTest {

  @TempDir Path dir;

  static final BaseVideoJob JOB =
      new BaseVideoJob(
          "r-n:BASE:1", "r-n", "a red fox", "", null, "preview", 64, 48, 5, 24, 2, null, 3L);

  @Test
  void rendersTheTinyModelReportingEveryStep() throws Exception {
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(new EngineSettings("native", Map.of("threads", "2"), "cpu", 0, false))) {
      RecordingContext ctx = new RecordingContext(dir);
      BaseVideoResult r = e.generate(JOB, ctx);

      assertThat(ctx.steps).containsExactly("denoise 1/2", "denoise 2/2");
      assertThat(r.frames().count()).isEqualTo(5);
      assertThat(r.frames().width()).isEqualTo(64);
      assertThat(r.frames().rgb(0)).hasSize(64 * 48 * 3);
      assertThat(r.latents().shape()[0]).isEqualTo(32);
      assertThat(e.describe().modelId()).isEqualTo("hunyuanvideo-1.5-tiny");
      assertThat(e.describe().weightsId()).isEqualTo("random-init");
      assertThat(e.describe().emulated()).isFalse();

      RecordingContext cancelling = new RecordingContext(dir);
      cancelling.onStep = k -> cancelling.cancel = ErrorCode.CANCELLED;
      BaseVideoJob longer =
          new BaseVideoJob(
              "r-n:BASE:2", "r-n", "a red fox", "", null, "preview", 64, 48, 5, 24, 6, null, 3L);
      assertThatThrownBy(() -> e.generate(longer, cancelling))
          .isInstanceOfSatisfying(
              TaskCancelledException.class,
              x -> assertThat(x.code()).isEqualTo(ErrorCode.CANCELLED));
      assertThat(cancelling.steps).hasSize(1);
    }
  }

  @Test
  void rendersFromACheckpointFolderPickingTheVariantPerRender() throws Exception {
    Path folder = SyntheticModelFolder.writeDefault(dir.resolve("hv15"));
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(
                new EngineSettings(
                    "native",
                    Map.of(
                        "threads",
                        "2",
                        "model-dir",
                        folder.toString(),
                        "variant-preference",
                        "distilled,base"),
                    "cpu",
                    0,
                    false))) {
      assertThat(e.describe().modelId()).isEqualTo("hunyuanvideo-1.5-480p_t2v_distilled");
      assertThat(e.describe().weightsId()).startsWith("dit=480p_t2v_distilled@sha256:");
      // the variant's official settings: CFG-distilled, 50 steps, shift 5
      assertThat(e.defaultSteps()).isEqualTo(50);
      BaseVideoResult r = e.generate(JOB, new RecordingContext(dir));
      assertThat(r.facts())
          .containsEntry("checkpointVariant", "480p_t2v_distilled")
          .containsEntry("guidance", "1.0")
          .containsEntry("shift", "5.0");
      assertThat(r.facts().get("checkpointFingerprint")).startsWith("sha256:");
      assertThat(r.latents().metadata().get("weights")).startsWith("dit=480p_t2v_distilled@");
      // a 720p render: no 720p T2V distilled variant is released, so the preference falls to base
      BaseVideoJob hd =
          new BaseVideoJob(
              "r-h:BASE:1", "r-h", "a red fox", "", null, "720p", 64, 48, 5, 24, 2, null, 3L);
      BaseVideoResult r2 = e.generate(hd, new RecordingContext(dir));
      assertThat(r2.facts())
          .containsEntry("checkpointVariant", "720p_t2v")
          .containsEntry("guidance", "6.0")
          .containsEntry("shift", "9.0");
      assertThat(e.describe().modelId()).isEqualTo("hunyuanvideo-1.5-720p_t2v");
      // the folder's real text encoders, kept across the variant swap
      assertThat(r.facts().get("textEncoder")).startsWith("mllm=qwen2.5-vl-llm@sha256:");
      assertThat(r2.facts().get("textEncoder")).isEqualTo(r.facts().get("textEncoder"));
      // a prompt over the encoder's limit fails permanently, naming prompt and the limit
      BaseVideoJob tooLong =
          new BaseVideoJob(
              "r-l:BASE:1",
              "r-l",
              "9".repeat(996),
              "",
              null,
              "preview",
              64,
              48,
              5,
              24,
              2,
              null,
              3L);
      assertThatThrownBy(() -> e.generate(tooLong, new RecordingContext(dir)))
          .isInstanceOfSatisfying(
              EngineException.class, x -> assertThat(x.code()).isEqualTo(ErrorCode.BAD_PARAMETERS))
          .hasMessageContaining("prompt")
          .hasMessageContaining("995");
    }
  }

  static BaseVideoJob i2vJob(Path dir) throws Exception {
    int[] px = new int[90 * 60];
    for (int i = 0; i < px.length; i++) {
      px[i] = 0xff000000 | (i * 7919) & 0xffffff;
    }
    ReferenceImage ref =
        new ReferenceImage(
            dir.resolve("reference.png"), "image/png", 90, 60, px, "s3://reelflow/t/ref.png");
    return new BaseVideoJob(
            "r-i:BASE:1",
            "r-i",
            "the boat sails",
            "",
            "s3://reelflow/t/ref.png",
            "preview",
            64,
            48,
            5,
            24,
            2,
            null,
            3L)
        .withReferenceImage(ref);
  }

  @Test
  void imageToVideoPicksTheI2vVariantAndItsSiglipTower() throws Exception {
    Path folder =
        SyntheticModelFolder.builder()
            .variants(java.util.List.of("480p_t2v_distilled", "480p_i2v_distilled"))
            .build()
            .write(dir.resolve("hv15"));
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(
                new EngineSettings(
                    "native",
                    Map.of(
                        "threads",
                        "2",
                        "model-dir",
                        folder.toString(),
                        "variant-preference",
                        "distilled"),
                    "cpu",
                    0,
                    false))) {
      // the memory estimate counts the resident encoders: the text encoders' layers that run
      // (less than their files: later layers and the embedding stay on disk) and, for
      // image-to-video, the SigLIP tower (its files until it is loaded)
      long transformer =
          dev.reelflow.engine.checkpoint.WeightFiles.in(
                  folder.resolve("transformer/480p_t2v_distilled"))
              .bytes();
      long text = e.estimateDeviceBytes(JOB, false) - MemoryPlan.baseBytes(JOB, transformer, false);
      long textFiles = 0;
      for (String c : new String[] {"text_encoder/llm", "text_encoder/Glyph-SDXL-v2/checkpoints"}) {
        textFiles += dev.reelflow.engine.checkpoint.WeightFiles.in(folder.resolve(c)).bytes();
      }
      assertThat(text).isPositive().isLessThan(textFiles);
      long siglipFiles =
          dev.reelflow.engine.checkpoint.WeightFiles.in(
                  folder.resolve("vision_encoder/siglip/image_encoder"))
              .bytes();
      assertThat(e.estimateDeviceBytes(i2vJob(dir), false) - e.estimateDeviceBytes(JOB, false))
          .isEqualTo(siglipFiles);
      BaseVideoResult t2v = e.generate(JOB, new RecordingContext(dir));
      assertThat(t2v.facts()).containsEntry("mode", "t2v").doesNotContainKey("visionEncoder");
      BaseVideoResult r = e.generate(i2vJob(dir), new RecordingContext(dir));
      assertThat(r.facts())
          .containsEntry("checkpointVariant", "480p_i2v_distilled")
          .containsEntry("mode", "i2v");
      assertThat(r.facts().get("visionEncoder")).startsWith("siglip@sha256:");
      assertThat(e.describe().weightsId())
          .startsWith("dit=480p_i2v_distilled@sha256:")
          .endsWith(";vision=" + r.facts().get("visionEncoder"));
      assertThat(r.frames().count()).isEqualTo(5);
      assertThat(r.frames().width()).isEqualTo(64);
      // loaded: the tower's tensors as held (16-bit linear weights, f32 norms, biases and the
      // patch embedding: more than the bf16 files at this tiny size, where those weigh most)
      long loaded = e.estimateDeviceBytes(i2vJob(dir), false) - e.estimateDeviceBytes(JOB, false);
      assertThat(loaded).isBetween(siglipFiles / 2, siglipFiles * 2);
    }
    // the tiny preset has no vision projection: I2V runs on the first-frame latents alone
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(new EngineSettings("native", Map.of("threads", "2"), "cpu", 0, false))) {
      BaseVideoResult r = e.generate(i2vJob(dir), new RecordingContext(dir));
      assertThat(r.facts()).containsEntry("mode", "i2v").doesNotContainKey("visionEncoder");
      assertThatThrownBy(
              () ->
                  e.generate(
                      new BaseVideoJob(
                          "r-x:BASE:1",
                          "r-x",
                          "p",
                          "",
                          "s3://reelflow/t/ref.png",
                          "preview",
                          64,
                          48,
                          5,
                          24,
                          2,
                          null,
                          3L),
                      new RecordingContext(dir)))
          .hasMessageContaining("without its reference image");
    }
  }

  @Test
  void imageToVideoWithoutTheFoldersSiglipFailsNamingIt() throws Exception {
    Path folder =
        SyntheticModelFolder.builder()
            .variants(java.util.List.of("480p_t2v", "480p_i2v"))
            .build()
            .write(dir.resolve("no-siglip"));
    Path enc = folder.resolve("vision_encoder/siglip/image_encoder");
    try (var files = Files.list(enc)) {
      for (Path f : files.toList()) {
        Files.delete(f);
      }
    }
    Files.delete(enc);
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(
                new EngineSettings(
                    "native",
                    Map.of("threads", "2", "model-dir", folder.toString()),
                    "cpu",
                    0,
                    false))) {
      assertThatThrownBy(() -> e.generate(i2vJob(dir), new RecordingContext(dir)))
          .isInstanceOfSatisfying(
              EngineException.class,
              x ->
                  assertThat(x.getMessage())
                      .contains("has no vision_encoder/siglip", "FLUX.1-Redux-dev"));
    }
  }

  @Test
  void aFolderWithoutTheWantedVariantsFailsToStartNamingThem() throws Exception {
    Path folder =
        SyntheticModelFolder.builder()
            .variants(java.util.List.of("720p_i2v"))
            .build()
            .write(dir.resolve("i2v-only"));
    assertThatThrownBy(
            () ->
                BuiltinEngines.registry()
                    .createBase(
                        new EngineSettings(
                            "native",
                            Map.of("model-dir", folder.toString(), "variant-preference", "sparse"),
                            "cpu",
                            0,
                            false)))
        .hasMessageContaining("480p_t2v_distilled_sparse")
        .hasMessageContaining("720p_i2v");
  }

  @Test
  void theSlotsBackendRunsTheEngineTorchOnTheCpuRendersTheSameJob() throws Exception {
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(
                new EngineSettings(
                    "native", Map.of("threads", "2"), "cpu", 0, false, BackendSpec.torch()))) {
      BaseVideoResult r = e.generate(JOB, new RecordingContext(dir));
      assertThat(e.describe().backend()).isEqualTo("torch");
      assertThat(r.frames().count()).isEqualTo(5);
      assertThat(r.latents().metadata()).containsEntry("backend", "torch");
    }
  }

  @Test
  void cudaWithoutAUsableGpuFailsAtStartSayingWhatIsMissing() {
    assumeTrue(
        !Files.exists(Path.of("/dev/nvidia0")), "a GPU is present: the refusal is not testable");
    assertThatThrownBy(
            () ->
                BuiltinEngines.registry()
                    .createBase(
                        new EngineSettings(
                            "native",
                            Map.of("threads", "2"),
                            "cpu",
                            0,
                            false,
                            BackendSpec.cuda(0))))
        .isInstanceOf(EngineException.class)
        .hasMessageContaining("cannot open backend cuda:0")
        .hasMessageMatching("(?s).*(CUDA|cuda|GPU|driver).*");
  }

  @Test
  void theStartPlanSaysWhatFitsTheBudget() throws Exception {
    try (BaseVideoEngine e =
        BuiltinEngines.registry()
            .createBase(new EngineSettings("native", Map.of("threads", "2"), "cpu", 0, false))) {
      // the estimate counts full-width (2048) activations: about 10 GiB at 480p, 22 GiB at 720p
      String plan = MemoryPlan.startPlan(e, 16L << 30, false);
      assertThat(plan)
          .contains("budget 16.0 GiB")
          .containsPattern("480p 121 frames [0-9.]+ GiB fits");
      assertThat(plan).containsPattern("720p 121 frames [0-9.]+ GiB REFUSED");
      assertThat(MemoryPlan.startPlan(e, 0, false)).doesNotContain("REFUSED");
    }
  }
}
