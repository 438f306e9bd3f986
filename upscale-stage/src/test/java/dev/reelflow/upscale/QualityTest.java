package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.stack.RequiredTools;
import dev.reelflow.worker.spi.EngineRegistry;
import dev.reelflow.worker.spi.EngineSettings;
import dev.reelflow.worker.spi.UpscaleEngine;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Quality, honestly measured (ARCHITECTURE.md, decision 17): natural photos, downscaled by 2
 * (anti-aliased bicubic), upscaled back by 2; PSNR and SSIM on the luma channel with a 4-pixel
 * border shaved, averaged over the set.
 *
 * <p>What is asserted is what the default promises: the upscaler a worker gets from engine {@code
 * esrgan} with no options. When this build carries esrgan-thick that is the network, and it must
 * beat bicubic by the margins below on the mean (README: 32.97 against 32.70 dB PSNR-Y, 0.9183
 * against 0.9167 SSIM-Y; the computation is deterministic, so the margins are most of the measured
 * gain). When the build could not fetch it the default is bicubic and must produce exactly
 * bicubic's frames; the network's promise is then unchecked, so the test is skipped saying so, or
 * fails where the switch requires npm (CI), which fetches the weights. esrgan-slim's figures are
 * printed, not asserted (it scores below bicubic here).
 */
class QualityTest {
  private static final int SHAVE = 4;

  /** Mean PSNR-Y gain over bicubic the default network must reach (measured: 0.27 dB). */
  static final double MIN_PSNR_GAIN_DB = 0.2;

  /** Mean SSIM-Y gain over bicubic the default network must reach (measured: 0.0016). */
  static final double MIN_SSIM_GAIN = 0.001;

  @Test
  void theDefaultUpscalerKeepsItsPromiseOnNaturalPhotos() throws Exception {
    EngineRegistry registry =
        EngineRegistry.builder().discover(getClass().getClassLoader()).build();
    double[] bic = new double[2];
    double[] def = new double[2];
    double[] slm = new double[2];
    BicubicUpscaler bicubic = new BicubicUpscaler();
    try (UpscaleEngine engine =
            registry.createUpscale(
                new EngineSettings("esrgan", Map.of("threads", "2"), "cpu", 0L, false));
        EsrganUpscaler slimUp =
            EsrganUpscaler.builder().weights(EsrganWeights.SLIM).scale(2).threads(2).build()) {
      FrameUpscaler dflt = ((PixelUpscaleEngine) engine).upscaler();
      boolean network = !dflt.id().equals("bicubic");
      System.out.printf(
          "default upscaler of engine esrgan: %s (%s)%n", dflt.id(), engine.describe().modelId());
      for (String name : Photos.NAMES) {
        RgbFrame hr = Photos.load(name);
        RgbFrame lr = Resampler.resize(hr, hr.width() / 2, hr.height() / 2);
        RgbFrame b = bicubic.upscale(lr, hr.width(), hr.height(), () -> false);
        RgbFrame d = dflt.upscale(lr, hr.width(), hr.height(), () -> false);
        RgbFrame s = slimUp.upscale(lr, hr.width(), hr.height(), () -> false);
        assertThat(d.width()).isEqualTo(hr.width());
        assertThat(d.height()).isEqualTo(hr.height());
        if (!network) {
          assertThat(d.pixels()).as("the bicubic default on %s", name).isEqualTo(b.pixels());
        }
        double[] fb = {ImageQuality.psnrY(b, hr, SHAVE), ImageQuality.ssimY(b, hr, SHAVE)};
        double[] fd = {ImageQuality.psnrY(d, hr, SHAVE), ImageQuality.ssimY(d, hr, SHAVE)};
        double[] fs = {ImageQuality.psnrY(s, hr, SHAVE), ImageQuality.ssimY(s, hr, SHAVE)};
        System.out.printf(
            "%-10s PSNR-Y bicubic %.2f default %.2f slim %.2f | SSIM-Y bicubic %.4f default %.4f"
                + " slim %.4f%n",
            name, fb[0], fd[0], fs[0], fb[1], fd[1], fs[1]);
        for (int i = 0; i < 2; i++) {
          bic[i] += fb[i] / Photos.NAMES.length;
          def[i] += fd[i] / Photos.NAMES.length;
          slm[i] += fs[i] / Photos.NAMES.length;
        }
      }
      System.out.printf(
          "MEAN over %d photos: PSNR-Y bicubic %.2f dB, default (%s) x2 %.2f dB, esrgan-slim x2"
              + " %.2f dB | SSIM-Y bicubic %.4f, default %.4f, slim %.4f%n",
          Photos.NAMES.length, bic[0], dflt.id(), def[0], slm[0], bic[1], def[1], slm[1]);
      RequiredTools.assume(
          "npm",
          network,
          "esrgan-thick is not in this build (the build fetches it with npm, see the README), so"
              + " the default is bicubic (checked above) and the network's promise is unchecked");
      assertThat(dflt.id()).contains("thick");
      assertThat(def[0])
          .as("mean PSNR-Y of the default network vs bicubic + %s dB", MIN_PSNR_GAIN_DB)
          .isGreaterThan(bic[0] + MIN_PSNR_GAIN_DB);
      assertThat(def[1])
          .as("mean SSIM-Y of the default network vs bicubic + %s", MIN_SSIM_GAIN)
          .isGreaterThan(bic[1] + MIN_SSIM_GAIN);
    }
  }
}
