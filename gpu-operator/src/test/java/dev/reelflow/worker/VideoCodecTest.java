package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.worker.spi.VideoFrames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VideoCodecTest {

  @TempDir Path dir;

  /** A moving gradient so the encoder has real content and frames differ. */
  static VideoFrames gradient(int w, int h, int n) {
    List<byte[]> frames = new ArrayList<>();
    for (int f = 0; f < n; f++) {
      byte[] rgb = new byte[w * h * 3];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int i = (y * w + x) * 3;
          rgb[i] = (byte) ((x + f * 4) & 0xFF);
          rgb[i + 1] = (byte) ((y * 255) / h);
          rgb[i + 2] = (byte) 128;
        }
      }
      frames.add(rgb);
    }
    return VideoFrames.of(w, h, frames);
  }

  @Test
  void encodesPlayableFaststartMp4WithRequestedSizeFramesAndFps() throws Exception {
    Ffprobe.assumeInstalled();
    Path mp4 = dir.resolve("clip.mp4");
    String encoder =
        VideoCodec.encodeMp4(gradient(256, 144, 17), 24, 256, 144, mp4, VideoCodec.Encoder.AUTO);

    assertThat(encoder).isIn("libopenh264", "h264_nvenc");
    Map<String, String> s = Ffprobe.videoStream(mp4);
    assertThat(s.get("codec_name")).isEqualTo("h264");
    assertThat(s.get("width")).isEqualTo("256");
    assertThat(s.get("height")).isEqualTo("144");
    assertThat(s.get("pix_fmt")).isEqualTo("yuv420p");
    assertThat(s.get("nb_read_frames")).isEqualTo("17");
    assertThat(s.get("r_frame_rate")).isEqualTo("24/1");
    assertThat(Ffprobe.moovBeforeMdat(mp4)).as("moov before mdat (faststart)").isTrue();
  }

  @Test
  void resizesOnEncodeAndDecodesBack() throws Exception {
    Path mp4 = dir.resolve("up.mp4");
    VideoCodec.encodeMp4(gradient(64, 48, 5), 12, 128, 96, mp4, VideoCodec.Encoder.LIBOPENH264);

    VideoCodec.Decoded decoded = VideoCodec.decode(mp4);
    assertThat(decoded.fps()).isEqualTo(12);
    assertThat(decoded.frames().count()).isEqualTo(5);
    assertThat(decoded.frames().width()).isEqualTo(128);
    assertThat(decoded.frames().height()).isEqualTo(96);
    // Blue channel was a constant 128: lossy coding keeps it close.
    byte[] first = decoded.frames().rgb(0);
    int mid = (48 * 128 + 64) * 3;
    assertThat(first[mid + 2] & 0xFF).isBetween(110, 146);
  }

  @Test
  void writesJpegPoster() throws Exception {
    Path jpg = dir.resolve("poster.jpg");
    VideoFrames f = gradient(96, 64, 1);
    VideoCodec.writeJpeg(f.rgb(0), 96, 64, jpg);

    byte[] bytes = Files.readAllBytes(jpg);
    assertThat(bytes.length).isGreaterThan(100);
    assertThat(bytes[0] & 0xFF).isEqualTo(0xFF);
    assertThat(bytes[1] & 0xFF).isEqualTo(0xD8); // SOI
    assertThat(bytes[bytes.length - 1] & 0xFF).isEqualTo(0xD9); // EOI
  }
}
