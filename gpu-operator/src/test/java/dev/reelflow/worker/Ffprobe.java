package dev.reelflow.worker;

import dev.reelflow.stack.RequiredTools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Test helper: runs the system ffprobe (CI installs the Debian ffmpeg package). */
final class Ffprobe {

  private Ffprobe() {}

  static void assumeInstalled() {
    RequiredTools.assume(
        "ffmpeg", installed(), "ffprobe is not installed (apt-get install -y ffmpeg)");
  }

  static boolean installed() {
    try {
      Process p = new ProcessBuilder("ffprobe", "-version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** Stream facts of the first video stream: width, height, nb_read_frames, r_frame_rate, ... */
  static Map<String, String> videoStream(Path file) throws IOException, InterruptedException {
    String out =
        run(
            List.of(
                "ffprobe",
                "-v",
                "error",
                "-count_frames",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=codec_name,width,height,pix_fmt,nb_read_frames,r_frame_rate,profile",
                "-of",
                "default=noprint_wrappers=1",
                file.toString()));
    Map<String, String> facts = new HashMap<>();
    for (String line : out.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        facts.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    return facts;
  }

  /** True when the moov atom comes before mdat (faststart), read from the top-level boxes. */
  static boolean moovBeforeMdat(Path file) throws IOException {
    byte[] b = Files.readAllBytes(file);
    int pos = 0;
    while (pos + 8 <= b.length) {
      long size =
          ((b[pos] & 0xFFL) << 24)
              | ((b[pos + 1] & 0xFFL) << 16)
              | ((b[pos + 2] & 0xFFL) << 8)
              | (b[pos + 3] & 0xFFL);
      String type = new String(b, pos + 4, 4, StandardCharsets.US_ASCII);
      if (type.equals("moov")) {
        return true;
      }
      if (type.equals("mdat")) {
        return false;
      }
      if (size < 8) {
        return false;
      }
      pos += (int) size;
    }
    return false;
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("ffprobe failed: " + out);
    }
    return out;
  }
}
