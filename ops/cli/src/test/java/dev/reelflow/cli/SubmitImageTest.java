package dev.reelflow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code reelflow submit --image}: files become data URIs of their real type, URLs pass as is. */
class SubmitImageTest {
  @TempDir Path dir;

  @Test
  void aFileIsSentInlineWithTheTypeItsBytesAnnounce() throws Exception {
    Path f = dir.resolve("first-frame.bin");
    ImageIO.write(new BufferedImage(8, 6, BufferedImage.TYPE_INT_RGB), "jpg", f.toFile());
    String url = ClientCommands.Submit.imageUrl(f.toString());
    assertThat(url).startsWith("data:image/jpeg;base64,");
    assertThat(Base64.getDecoder().decode(url.substring(url.indexOf(',') + 1)))
        .isEqualTo(Files.readAllBytes(f));
  }

  @Test
  void urlsPassAndOtherFilesAreRefused() throws Exception {
    assertThat(ClientCommands.Submit.imageUrl("https://cdn.example.com/a.png"))
        .isEqualTo("https://cdn.example.com/a.png");
    assertThat(ClientCommands.Submit.imageUrl("s3://reelflow/acme/a.png"))
        .isEqualTo("s3://reelflow/acme/a.png");
    Path text = Files.writeString(dir.resolve("notes.png"), "not an image");
    assertThatThrownBy(() -> ClientCommands.Submit.imageUrl(text.toString()))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("is not a PNG, JPEG or WebP");
    assertThatThrownBy(() -> ClientCommands.Submit.imageUrl(dir.resolve("absent.png").toString()))
        .hasMessageContaining("cannot read");
  }
}
