package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.reelflow.cli.ReelflowCli;
import dev.reelflow.stack.RequiredTools;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's main command, end to end: {@code reelflow demo} brings the whole local pipeline up,
 * renders a small batch with the tiny native engine (one render upscaled to 1080p with ESRGAN, one
 * without upscaling), downloads the outputs and exits 0.
 */
class DemoIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void demoRendersTheBatchAndDownloadsPlayableVideos() throws Exception {
    Path sample = dir.resolve("sample.ndjson");
    Files.writeString(
        sample,
        String.join(
            "\n",
            "{\"prompt\":\"A red sneaker on a pedestal, the sign says \\\"NEW\\\"\","
                + "\"resolution\":\"preview\",\"aspectRatio\":\"16:9\",\"frames\":9,\"steps\":2,"
                + "\"seed\":7}",
            "{\"prompt\":\"一杯热咖啡放在木桌上\",\"resolution\":\"preview\",\"aspectRatio\":\"1:1\","
                + "\"frames\":9,\"steps\":2,\"seed\":8,\"upscale\":\"none\"}",
            ""));
    Path out = dir.resolve("outputs");

    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.out;
    int exit;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      exit =
          ReelflowCli.commandLine()
              .execute(
                  "demo",
                  "--dir",
                  dir.toString(),
                  "--sample",
                  sample.toString(),
                  "--out",
                  out.toString(),
                  "--timeout",
                  "PT8M");
    } finally {
      System.setOut(original);
    }
    String printed = captured.toString(StandardCharsets.UTF_8);
    original.println(printed);

    assertThat(exit).as(printed).isZero();
    assertThat(printed).contains("All 2 renders succeeded.").contains("video:");
    assertThat(dir.resolve(".reelflow/local.json")).isRegularFile();

    List<Path> videos;
    try (Stream<Path> files = Files.walk(out)) {
      videos = files.filter(p -> p.getFileName().toString().equals("video.mp4")).toList();
    }
    assertThat(videos).hasSize(2);
    for (Path video : videos) {
      JsonNode manifest = JSON.readTree(video.resolveSibling("manifest.json").toFile());
      assertThat(manifest.path("weightsId").asText()).isEqualTo("random-init");
      assertThat(manifest.path("frames").asInt()).isEqualTo(9);
      assertThat(video.resolveSibling("poster.jpg")).isRegularFile();
      boolean upscaled = "1080p".equals(manifest.path("upscale").asText());
      // 16:9 upscaled to 1080p is delivered at 1920x1080; the 1:1 preview stays 192x192.
      int[] size = upscaled ? new int[] {1920, 1080} : new int[] {192, 192};
      assertThat(manifest.path("resolution").path("width").asInt()).isEqualTo(size[0]);
      assertThat(manifest.path("resolution").path("height").asInt()).isEqualTo(size[1]);
      assertPlayable(video, size[0], size[1], 9);
    }
  }

  /** ffprobe's view of the file, where ffprobe is installed (CI installs it). */
  private static void assertPlayable(Path video, int width, int height, int frames)
      throws Exception {
    RequiredTools.assume(
        "ffmpeg",
        RequiredTools.onPath("ffprobe").isPresent(),
        "ffprobe is not installed: the stream checks of " + video + " need it");
    Process ffprobe =
        new ProcessBuilder(
                "ffprobe",
                "-v",
                "error",
                "-count_frames",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=codec_name,width,height,pix_fmt,nb_read_frames",
                "-of",
                "json",
                video.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(ffprobe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(ffprobe.waitFor(60, TimeUnit.SECONDS)).isTrue();
    JsonNode stream = JSON.readTree(output).path("streams").get(0);
    assertThat(stream.path("codec_name").asText()).as(output).isEqualTo("h264");
    assertThat(stream.path("pix_fmt").asText()).isEqualTo("yuv420p");
    assertThat(stream.path("width").asInt()).isEqualTo(width);
    assertThat(stream.path("height").asInt()).isEqualTo(height);
    assertThat(stream.path("nb_read_frames").asInt()).isEqualTo(frames);
  }
}
