package dev.reelflow.worker;

import dev.reelflow.engine.GpuSelfCheck;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.worker.spi.VideoFrames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The self-check's H.264 figure: encodes a moving 1920x1080 test pattern the way the workers do
 * ({@code video.encoder=auto}: h264_nvenc where an NVIDIA device is present, else libopenh264) and
 * reports frames per second and which encoder ran.
 */
public final class EncodeProbe implements GpuSelfCheck.Probe {
  private final int frames;

  /** A probe over {@code frames} frames of 1920x1080. */
  public EncodeProbe(int frames) {
    if (frames < 1) {
      throw new IllegalArgumentException("frames must be >= 1, got " + frames);
    }
    this.frames = frames;
  }

  @Override
  public String name() {
    return "h264-encode-1080p";
  }

  @Override
  public GpuSelfCheck.Measurement run(Backend backend) throws Exception {
    int w = 1920;
    int h = 1080;
    List<byte[]> list = new ArrayList<>(frames);
    for (int f = 0; f < frames; f++) {
      byte[] rgb = new byte[w * h * 3];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int i = 3 * (y * w + x);
          rgb[i] = (byte) (x + 4 * f);
          rgb[i + 1] = (byte) (y - 2 * f);
          rgb[i + 2] = (byte) ((x ^ y) + f);
        }
      }
      list.add(rgb);
    }
    Path out = Files.createTempFile("reelflow-encode-probe", ".mp4");
    try {
      long t0 = System.nanoTime();
      String used =
          VideoCodec.encodeMp4(VideoFrames.of(w, h, list), 24, w, h, out, VideoCodec.Encoder.AUTO);
      double s = (System.nanoTime() - t0) / 1e9;
      return new GpuSelfCheck.Measurement(
          name(),
          frames + " frames 1920x1080 -> yuv420p MP4",
          s,
          frames / s,
          "frames/s",
          "encoder " + used + "; " + VideoCodec.describe(VideoCodec.Encoder.AUTO));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
