package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Quality, honestly measured (DESIGN §8): natural photos, downscaled by 2 (anti-aliased bicubic),
 * upscaled back by 2 with esrgan-thick x2 and with bicubic; PSNR and SSIM on the luma channel with
 * a 4-pixel border shaved, averaged over the set. esrgan-thick must beat bicubic on both;
 * esrgan-slim's figures are printed, not asserted.
 */
class QualityTest {
  private static final int SHAVE = 4;

  @Test
  void esrganThickBeatsBicubicOnNaturalPhotos() throws Exception {
    Path thick = ThickWeights.modelsDir();
    Assumptions.assumeTrue(thick != null, ThickWeights.HOW_TO);
    double[] bic = new double[2];
    double[] thk = new double[2];
    double[] slm = new double[2];
    BicubicUpscaler bicubic = new BicubicUpscaler();
    try (EsrganUpscaler thickUp =
            EsrganUpscaler.builder()
                .weights(EsrganWeights.THICK)
                .modelsDir(thick)
                .scale(2)
                .threads(2)
                .build();
        EsrganUpscaler slimUp = EsrganUpscaler.builder().scale(2).threads(2).build()) {
      for (String name : Photos.NAMES) {
        RgbFrame hr = Photos.load(name);
        RgbFrame lr = Resampler.resize(hr, hr.width() / 2, hr.height() / 2);
        RgbFrame b = bicubic.upscale(lr, hr.width(), hr.height(), () -> false);
        RgbFrame t = thickUp.upscale(lr, hr.width(), hr.height(), () -> false);
        RgbFrame s = slimUp.upscale(lr, hr.width(), hr.height(), () -> false);
        assertThat(t.width()).isEqualTo(hr.width());
        double[] fb = {ImageQuality.psnrY(b, hr, SHAVE), ImageQuality.ssimY(b, hr, SHAVE)};
        double[] ft = {ImageQuality.psnrY(t, hr, SHAVE), ImageQuality.ssimY(t, hr, SHAVE)};
        double[] fs = {ImageQuality.psnrY(s, hr, SHAVE), ImageQuality.ssimY(s, hr, SHAVE)};
        System.out.printf(
            "%-10s PSNR-Y bicubic %.2f thick %.2f slim %.2f | SSIM-Y bicubic %.4f thick %.4f"
                + " slim %.4f%n",
            name, fb[0], ft[0], fs[0], fb[1], ft[1], fs[1]);
        for (int i = 0; i < 2; i++) {
          bic[i] += fb[i] / Photos.NAMES.length;
          thk[i] += ft[i] / Photos.NAMES.length;
          slm[i] += fs[i] / Photos.NAMES.length;
        }
      }
    }
    System.out.printf(
        "MEAN over %d photos: PSNR-Y bicubic %.2f dB, esrgan-thick x2 %.2f dB, esrgan-slim x2 %.2f"
            + " dB | SSIM-Y bicubic %.4f, thick %.4f, slim %.4f%n",
        Photos.NAMES.length, bic[0], thk[0], slm[0], bic[1], thk[1], slm[1]);
    assertThat(thk[0]).as("mean PSNR-Y esrgan-thick vs bicubic").isGreaterThan(bic[0]);
    assertThat(thk[1]).as("mean SSIM-Y esrgan-thick vs bicubic").isGreaterThan(bic[1]);
  }
}
