package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.StepListener;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.checkpoint.ModelFolderException;
import dev.reelflow.engine.sr.SrBuckets;
import dev.reelflow.engine.sr.SrVariant;
import dev.reelflow.engine.testing.SyntheticModelFolder;
import dev.reelflow.schemas.FrameGeometry;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.Latents;
import dev.reelflow.worker.spi.ReferenceImage;
import dev.reelflow.worker.spi.TaskCancelledException;
import dev.reelflow.worker.spi.UpscaleEngine;
import dev.reelflow.worker.spi.UpscaleJob;
import dev.reelflow.worker.spi.UpscaleResult;
import dev.reelflow.worker.spi.VideoFrames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * latent-sr: the official SR stage on the tiny config, random-init and from a synthetic checkpoint
 * folder with the released layout (tiny shapes): delivered size, frame count, steps, variant
 * routing, determinism, and labels that say which weights ran.
 */
class LatentSrEngineTest {
  @TempDir Path work;

  private static final EngineRegistry REGISTRY =
      EngineRegistry.builder().discover(LatentSrEngineTest.class.getClassLoader()).build();

  private static EngineSettings settings(Map<String, String> options) {
    return new EngineSettings("latent-sr", options, "cpu", 0L, false);
  }

  @Test
  void randomInitRunsTheOfficialFlowAndSaysSo() throws Exception {
    try (UpscaleEngine e =
        REGISTRY.createUpscale(
            settings(
                Map.of("steps", "3", "threads", "2", "hr-base-size", "128", "vae-tile", "64")))) {
      assertThat(e.describe().weightsId()).startsWith("random-init");
      assertThat(e.describe().modelId()).contains("random-init tiny");
      List<String> steps = new ArrayList<>();
      long t0 = System.nanoTime();
      UpscaleResult a = e.upscale(job(7L), ctx(steps));
      System.out.printf("latent-sr tiny: %.1f s for 5 frames%n", (System.nanoTime() - t0) / 1e9);
      // 2 latent frames -> 5 pixel frames; 96x64 base -> the 128-base bucket of ratio 1.5
      // (144x96, 6x9 latents), resized to the delivered 128x96
      assertThat(a.frames().count()).isEqualTo(5);
      assertThat(a.frames().width()).isEqualTo(128);
      assertThat(a.frames().height()).isEqualTo(96);
      assertThat(steps).containsExactly("sr-denoise 1/3", "sr-denoise 2/3", "sr-denoise 3/3");
      assertThat(a.facts())
          .containsEntry("srLatentGrid", "2x6x9")
          .containsEntry("srGrid", "144x96")
          .containsEntry("srVariant", "1080p_sr_distilled")
          .containsEntry("upscaleTo", "128x96");
      assertThat(a.facts().get("upscaleWeights")).startsWith("random-init");
      UpscaleResult b = e.upscale(job(7L), ctx(new ArrayList<>()));
      assertThat(b.frames().rgb(4)).as("deterministic for a seed").isEqualTo(a.frames().rgb(4));
      // the memory estimate covers at least the weights (random-init float32) and grows with T
      long small = e.estimateDeviceBytes(job(7L), false);
      assertThat(small).isGreaterThan(4L * 4_000_000);
      assertThat(e.estimateDeviceBytes(longJob(), false)).isGreaterThan(small);
    }
  }

  @Test
  void theSlotsTorchBackendRunsTheSameStage() throws Exception {
    Map<String, String> opts =
        Map.of("steps", "2", "threads", "2", "hr-base-size", "128", "vae-tile", "64");
    byte[][] last = new byte[2][];
    BackendSpec[] backends = {BackendSpec.cpu(), BackendSpec.torch()};
    for (int i = 0; i < 2; i++) {
      try (UpscaleEngine e =
          REGISTRY.createUpscale(
              new EngineSettings("latent-sr", opts, "cpu", 0L, false, backends[i]))) {
        assertThat(e.describe().backend()).isEqualTo(backends[i].toString());
        last[i] = e.upscale(job(7L), ctx(new ArrayList<>())).frames().rgb(4);
      }
    }
    int worst = 0;
    for (int j = 0; j < last[0].length; j++) {
      worst = Math.max(worst, Math.abs((last[0][j] & 0xff) - (last[1][j] & 0xff)));
    }
    // float32 on both; summation order differs, so a rounded 8-bit pixel may move by one
    assertThat(worst).isLessThanOrEqualTo(1);
  }

  @Test
  void upscalesFromACheckpointFolderWithTheReleasedLayout() throws Exception {
    Path dir =
        SyntheticModelFolder.builder()
            .variants(List.of("720p_sr_distilled", "1080p_sr_distilled"))
            .build()
            .write(work.resolve("HunyuanVideo-1.5"));
    Map<String, String> opts = new HashMap<>();
    opts.put("model-dir", dir.toString());
    opts.put("threads", "2");
    opts.put("hr-base-size", "64");
    opts.put("vae-tile", "64");
    try (UpscaleEngine e = REGISTRY.createUpscale(settings(opts))) {
      assertThat(e.describe().weightsId()).isEqualTo("model-dir HunyuanVideo-1.5");
      assertThat(e.describe().modelId()).doesNotContain("random-init");
      List<String> steps = new ArrayList<>();
      UpscaleResult r = e.upscale(job(11L), ctx(steps));
      assertThat(r.frames().count()).isEqualTo(5);
      assertThat(r.frames().width()).isEqualTo(128);
      assertThat(r.frames().height()).isEqualTo(96);
      // the 96x64 preview-size base is on no official bucket: the default 1080p variant, 8 steps
      assertThat(steps).hasSize(8).last().isEqualTo("sr-denoise 8/8");
      assertThat(r.facts())
          .containsEntry("srVariant", "1080p_sr_distilled")
          .containsEntry("srSteps", "8")
          .containsEntry("srBucket", "closest ratio (base off the buckets)");
      assertThat(r.facts().get("upscaleWeights"))
          .contains(
              "HunyuanVideo-1.5",
              "transformer/1080p_sr_distilled",
              "upsampler/1080p_sr_distilled",
              "diffusion_pytorch_model.safetensors",
              "sha256:")
          .doesNotContain("random-init");
    }
    opts.put("variant", "720p_sr_distilled");
    try (UpscaleEngine e = REGISTRY.createUpscale(settings(opts))) {
      UpscaleResult r = e.upscale(job(11L), ctx(new ArrayList<>()));
      assertThat(r.facts()).containsEntry("srVariant", "720p_sr_distilled");
      assertThat(r.facts()).containsEntry("srSteps", "6");
    }
    // a folder without the SR upsampler fails the engine's creation, naming the folder
    deleteTree(dir.resolve("upsampler"));
    opts.remove("variant");
    assertThatThrownBy(() -> REGISTRY.createUpscale(settings(opts)))
        .isInstanceOf(ModelFolderException.class)
        .hasMessageContaining("upsampler")
        .hasMessageContaining("1080p_sr_distilled");
  }

  /** The job with an image-to-video render's first frame (any size: the stage fits it). */
  private UpscaleJob i2vJob(long seed) {
    int[] px = new int[120 * 70];
    for (int i = 0; i < px.length; i++) {
      px[i] = 0xff000000 | (i * 7919) & 0xffffff;
    }
    UpscaleJob j = job(seed);
    return new UpscaleJob(
        j.taskId(),
        j.requestId(),
        seed,
        j.baseFrames(),
        j.baseLatents(),
        j.targetWidth(),
        j.targetHeight(),
        j.fps(),
        Map.of(),
        j.prompt(),
        new ReferenceImage(
            work.resolve("reference.png"), "image/png", 120, 70, px, "s3://reelflow/t/ref.png"));
  }

  @Test
  void anImageToVideoRenderConditionsTheSrStageOnItsFirstFrame() throws Exception {
    try (UpscaleEngine e =
        REGISTRY.createUpscale(
            settings(
                Map.of("steps", "2", "threads", "2", "hr-base-size", "128", "vae-tile", "64")))) {
      UpscaleResult t2v = e.upscale(job(7L), ctx(new ArrayList<>()));
      UpscaleResult i2v = e.upscale(i2vJob(7L), ctx(new ArrayList<>()));
      assertThat(t2v.facts()).containsEntry("srCondition", "t2v");
      // the random-init tiny transformer has no vision projection: image latents only
      assertThat(i2v.facts().get("srCondition"))
          .isEqualTo(
              "i2v (reference image latents at 144x96; the transformer has no vision projection)");
      assertThat(i2v.frames().rgb(0)).isNotEqualTo(t2v.frames().rgb(0));
    }
    Path dir =
        SyntheticModelFolder.builder()
            .variants(List.of("1080p_sr_distilled"))
            .build()
            .write(work.resolve("HunyuanVideo-1.5"));
    Map<String, String> opts = new HashMap<>();
    opts.put("model-dir", dir.toString());
    opts.put("threads", "2");
    opts.put("steps", "2");
    opts.put("hr-base-size", "64");
    opts.put("vae-tile", "64");
    try (UpscaleEngine e = REGISTRY.createUpscale(settings(opts))) {
      UpscaleResult r = e.upscale(i2vJob(11L), ctx(new ArrayList<>()));
      assertThat(r.facts().get("srCondition"))
          .startsWith("i2v (reference image latents at ")
          .contains("SigLIP states siglip@sha256:");
    }
    deleteTree(dir.resolve("vision_encoder/siglip/image_encoder"));
    try (UpscaleEngine e = REGISTRY.createUpscale(settings(opts))) {
      assertThatThrownBy(() -> e.upscale(i2vJob(11L), ctx(new ArrayList<>())))
          .isInstanceOf(EngineException.class)
          .hasMessageContaining("has no vision_encoder/siglip");
    }
  }

  @Test
  void theOfficialBucketMapGivesThePipelinesSrGridForEveryAspectRatio() {
    for (AspectRatio ar : AspectRatio.values()) {
      FrameGeometry.FrameSize base = FrameGeometry.base(Resolution.P720, ar);
      assertThat(SrBuckets.isBucket(base.width(), base.height(), SrVariant.SR_1080P.lrBaseSize()))
          .as("%s base %s", ar, base)
          .isTrue();
      // the official BucketMap matches the base bucket's own ratio (goldens: OfficialSrPiecesTest)
      int[] hr = SrBuckets.hrSize(base.width(), base.height(), SrVariant.SR_1080P.hrBaseSize());
      FrameGeometry.FrameSize out = FrameGeometry.upscaled(ar);
      System.out.printf(
          "SR grid %s: base %s -> %dx%d -> delivered %s%n", ar, base, hr[0], hr[1], out);
      // the delivered size is the SR grid resized: aspect ratios within 1.5%
      double a = (double) hr[0] / hr[1];
      double b = (double) out.width() / out.height();
      assertThat(Math.abs(a / b - 1)).as("%s", ar).isLessThan(0.015);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    try (var s = Files.walk(p)) {
      for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }

  // ------------------------------------------------------------------ job and context

  private static UpscaleJob job(long seed) {
    Random rnd = new Random(3);
    float[] lat = new float[32 * 2 * 4 * 6];
    for (int i = 0; i < lat.length; i++) {
      lat[i] = (float) rnd.nextGaussian();
    }
    List<byte[]> frames = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      frames.add(new byte[96 * 64 * 3]);
    }
    return new UpscaleJob(
        "r-sr:UPSCALE:1",
        "r-sr",
        seed,
        VideoFrames.of(96, 64, frames),
        new Latents(new int[] {32, 2, 4, 6}, lat, Map.of()),
        128,
        96,
        24,
        Map.of(),
        "a red fox in the snow");
  }

  private static UpscaleJob longJob() {
    UpscaleJob j = job(7L);
    return new UpscaleJob(
        j.taskId(),
        j.requestId(),
        7L,
        j.baseFrames(),
        new Latents(new int[] {32, 9, 4, 6}, new float[32 * 9 * 4 * 6], Map.of()),
        128,
        96,
        24,
        Map.of(),
        "");
  }

  private EngineContext ctx(List<String> steps) {
    return new EngineContext() {
      @Override
      public String taskId() {
        return "r-sr:UPSCALE:1";
      }

      @Override
      public Path workDir() {
        return work;
      }

      @Override
      public long deviceMemoryBudgetBytes() {
        return 0;
      }

      @Override
      public boolean offloadWeights() {
        return false;
      }

      @Override
      public boolean cancelRequested() {
        return false;
      }

      @Override
      public void checkCancelled() throws TaskCancelledException {}

      @Override
      public StepListener listener() {
        return (phase, done, total) -> steps.add(phase + " " + done + "/" + total);
      }
    };
  }
}
