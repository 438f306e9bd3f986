package dev.reelflow.storage.input;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class ImageSourceTest {
  private static final AddressPolicy POLICY = AddressPolicy.strict();
  private static final ImageLimits LIMITS = ImageLimits.defaults();

  private static ImageSource parse(String v) {
    return ImageSource.parse(v, POLICY, LIMITS);
  }

  private static String data(String type, byte[] bytes) {
    return "data:" + type + ";base64," + Base64.getEncoder().encodeToString(bytes);
  }

  @Test
  void dataUrisAreDecodedAndInspected() {
    byte[] png = TestImages.png(20, 10);
    ImageSource s = parse(data("image/png", png));
    assertThat(s).isInstanceOf(ImageSource.Inline.class);
    ImageSource.Inline in = (ImageSource.Inline) s;
    assertThat(in.bytes()).isEqualTo(png);
    assertThat(in.info()).isEqualTo(new ImageInfo(ImageFormat.PNG, 20, 10));
    // line-wrapped base64 and upper-case scheme and type are fine; image/jpg means JPEG
    String wrapped = Base64.getMimeEncoder().encodeToString(TestImages.jpeg(8, 8));
    assertThat(parse("DATA:Image/JPG;base64," + wrapped)).isInstanceOf(ImageSource.Inline.class);
  }

  @Test
  void badDataUrisSayWhatIsWrong() {
    byte[] png = TestImages.png(20, 10);
    assertThatThrownBy(() -> parse(data("image/jpeg", png)))
        .isInstanceOf(ImageRejectedException.class)
        .hasMessageContaining("says image/jpeg but holds a PNG");
    assertThatThrownBy(() -> parse(data("image/gif", png)))
        .hasMessageContaining("is not image/png, image/jpeg or image/webp");
    assertThatThrownBy(() -> parse("data:image/png,rawbytes")).hasMessageContaining("base64");
    assertThatThrownBy(() -> parse("data:image/png;base64,@@@@")).hasMessageContaining("invalid");
    assertThatThrownBy(() -> parse("data:image/png;base64")).hasMessageContaining("','");
    assertThatThrownBy(
            () -> ImageSource.parse(data("image/png", png), POLICY, LIMITS.withMaxBytes(64)))
        .hasMessageContaining("the limit is 64 bytes");
  }

  @Test
  void storedKeysAndUrls() {
    assertThat(parse("s3://reelflow/acme/uploads/cat.png"))
        .isEqualTo(new ImageSource.Stored("reelflow", "acme/uploads/cat.png"));
    assertThat(ImageSource.Stored.url("b", "t/k.png")).isEqualTo("s3://b/t/k.png");
    assertThatThrownBy(() -> parse("s3://reelflow/acme/../other/cat.png"))
        .hasMessageContaining("'..'");
    assertThatThrownBy(() -> parse("s3://reelflow")).hasMessageContaining("s3://<bucket>/<key>");
    assertThat(parse("https://cdn.example.com/a.png")).isInstanceOf(ImageSource.Remote.class);
    assertThatThrownBy(() -> parse("http://cdn.example.com/a.png")).hasMessageContaining("https");
    assertThatThrownBy(() -> parse("https://10.0.0.8/a.png")).hasMessageContaining("private");
    assertThatThrownBy(() -> parse("file:///etc/passwd")).hasMessageContaining("data: URI");
    assertThatThrownBy(() -> parse("cat.png")).hasMessageContaining("https URL");
  }
}
