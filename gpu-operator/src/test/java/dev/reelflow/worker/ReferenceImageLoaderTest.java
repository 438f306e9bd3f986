package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.ErrorCode;
import dev.reelflow.storage.input.ImageInfo;
import dev.reelflow.storage.input.ImageLimits;
import dev.reelflow.worker.spi.EngineException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoding reference images: PNG with ImageIO, WebP with FFmpeg (fixtures from
 * src/test/resources/images/make_images.py, Pillow with libwebp): lossless WebP decodes to exactly
 * the PNG's pixels, lossy WebP close to them; an animated WebP is refused before decoding.
 */
class ReferenceImageLoaderTest {
  @TempDir Path dir;

  static byte[] fixture(String name) throws IOException {
    try (InputStream in = ReferenceImageLoaderTest.class.getResourceAsStream("/images/" + name)) {
      return in.readAllBytes();
    }
  }

  private int[] decode(String name) throws Exception {
    byte[] b = fixture(name);
    ImageInfo info = ImageInfo.inspect(b, ImageLimits.defaults());
    Path f = dir.resolve("reference." + info.format().extension());
    Files.write(f, b);
    return ReferenceImageLoader.decode(b, info, f);
  }

  private static int channel(int argb, int c) {
    return (argb >> (16 - 8 * c)) & 0xff;
  }

  @Test
  void pngAndWebpDecodeToTheSamePixels() throws Exception {
    int[] png = decode("pattern.png");
    assertThat(png).hasSize(40 * 30);
    // the fixture's formula: r = 6x, g = 8y, b = (x * y) % 256
    for (int y = 0; y < 30; y++) {
      for (int x = 0; x < 40; x++) {
        int p = png[y * 40 + x];
        assertThat(new int[] {channel(p, 0), channel(p, 1), channel(p, 2)})
            .containsExactly(6 * x, 8 * y, (x * y) % 256);
      }
    }
    int[] lossless = decode("pattern-lossless.webp");
    for (int i = 0; i < png.length; i++) {
      assertThat(lossless[i] & 0xffffff).as("pixel %d", i).isEqualTo(png[i] & 0xffffff);
    }
    int[] lossy = decode("pattern-lossy.webp");
    double err = 0;
    for (int i = 0; i < png.length; i++) {
      for (int c = 0; c < 3; c++) {
        err += Math.abs(channel(lossy[i], c) - channel(png[i], c));
      }
    }
    assertThat(err / (3.0 * png.length)).isLessThan(12.0); // 4:2:0 chroma of a busy pattern
  }

  @Test
  void animatedOrUndecodableImagesFailPermanentlyNamingImageUrl() throws Exception {
    assertThatThrownBy(() -> decode("animated.webp")).hasMessageContaining("animated");
    byte[] png = fixture("pattern.png");
    // a damaged body behind intact headers: neither ImageIO nor FFmpeg can decode it
    byte[] damaged = png.clone();
    for (int i = 41; i < damaged.length - 12; i++) {
      damaged[i] = (byte) 0x5a;
    }
    ImageInfo info = ImageInfo.inspect(damaged, ImageLimits.defaults());
    Path f = dir.resolve("damaged.png");
    Files.write(f, damaged);
    assertThatThrownBy(() -> ReferenceImageLoader.decode(damaged, info, f))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.BAD_PARAMETERS);
              assertThat(e.retryable()).isFalse();
              assertThat(e.getMessage()).startsWith("imageUrl: the PNG image could not be decoded");
            });
  }
}
