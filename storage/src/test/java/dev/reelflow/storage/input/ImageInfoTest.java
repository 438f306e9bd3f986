package dev.reelflow.storage.input;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ImageInfoTest {
  private static final ImageLimits LIMITS = ImageLimits.defaults();

  @Test
  void readsFormatAndSizeFromEachContainer() {
    assertThat(ImageInfo.inspect(TestImages.png(37, 21), LIMITS))
        .isEqualTo(new ImageInfo(ImageFormat.PNG, 37, 21));
    assertThat(ImageInfo.inspect(TestImages.jpeg(64, 30), LIMITS))
        .isEqualTo(new ImageInfo(ImageFormat.JPEG, 64, 30));
    assertThat(ImageInfo.inspect(TestImages.webpLossy(300, 200), LIMITS))
        .isEqualTo(new ImageInfo(ImageFormat.WEBP, 300, 200));
    assertThat(ImageInfo.inspect(TestImages.webpLossless(640, 360), LIMITS))
        .isEqualTo(new ImageInfo(ImageFormat.WEBP, 640, 360));
    assertThat(ImageInfo.inspect(TestImages.webpExtended(1920, 1080, false), LIMITS))
        .isEqualTo(new ImageInfo(ImageFormat.WEBP, 1920, 1080));
  }

  @Test
  void refusesWhatIsNoImageTruncatedAnimatedOrTooLarge() {
    assertThatThrownBy(() -> ImageInfo.inspect("GIF89a....".getBytes(), LIMITS))
        .isInstanceOf(ImageRejectedException.class)
        .hasMessageContaining("not a PNG, JPEG or WebP");
    byte[] png = TestImages.png(40, 40);
    assertThatThrownBy(() -> ImageInfo.inspect(Arrays.copyOf(png, png.length - 20), LIMITS))
        .hasMessageContaining("truncated");
    byte[] jpeg = TestImages.jpeg(40, 40);
    assertThatThrownBy(() -> ImageInfo.inspect(Arrays.copyOf(jpeg, jpeg.length / 2), LIMITS))
        .hasMessageContaining("truncated");
    assertThatThrownBy(() -> ImageInfo.inspect(TestImages.webpExtended(64, 64, true), LIMITS))
        .hasMessageContaining("animated");
    byte[] w = TestImages.webpLossy(64, 64);
    assertThatThrownBy(() -> ImageInfo.inspect(Arrays.copyOf(w, w.length - 4), LIMITS))
        .hasMessageContaining("truncated");
    assertThatThrownBy(() -> ImageInfo.inspect(TestImages.webpLossless(9000, 10), LIMITS))
        .hasMessageContaining("at most 8192 pixels");
    assertThatThrownBy(
            () ->
                ImageInfo.inspect(
                    TestImages.webpExtended(8000, 8000, false),
                    new ImageLimits(1 << 20, 8192, 50_000_000)))
        .hasMessageContaining("64000000 pixels; the limit is 50000000");
    assertThatThrownBy(() -> ImageInfo.inspect(png, LIMITS.withMaxBytes(100)))
        .hasMessageContaining("the limit is 100 bytes");
  }
}
