package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Overlapping tiles: same result as one whole-frame pass, no seams, right size and range. */
class TilingTest {
  private static final int TILE = 40;
  private static EsrganUpscaler whole;
  private static EsrganUpscaler tiled;

  @BeforeAll
  static void engines() {
    whole = EsrganUpscaler.builder().scale(2).tileSize(1024).build();
    tiled = EsrganUpscaler.builder().scale(2).tileSize(TILE).threads(2).build();
  }

  @AfterAll
  static void close() {
    whole.close();
    tiled.close();
  }

  @Test
  void tiledOutputEqualsTheWholeFramePass() throws Exception {
    RgbFrame in = Photos.load("chelsea");
    RgbFrame a = whole.upscaleByModel(in, 2, () -> false);
    RgbFrame b = tiled.upscaleByModel(in, 2, () -> false);
    assertThat(maxAbsDiff(a, b))
        .as("tiles (margin = receptive radius) vs whole frame")
        .isLessThan(0.01);
    // control: without overlap the tiles do differ from the whole frame near their borders
    try (EsrganUpscaler noOverlap =
        EsrganUpscaler.builder().scale(2).tileSize(TILE).maxMargin(0).build()) {
      assertThat(maxAbsDiff(a, noOverlap.upscaleByModel(in, 2, () -> false))).isGreaterThan(1.0);
    }
  }

  @Test
  void noSeamsAcrossTileBorders() throws Exception {
    for (String name : new String[] {"astronaut", "coffee"}) {
      RgbFrame in = Photos.load(name);
      RgbFrame out = tiled.upscaleByModel(in, 2, () -> false);
      int tiles = (in.width() + TILE - 1) / TILE;
      boolean[] border = new boolean[out.width()];
      for (int t = 1; t < tiles; t++) {
        border[in.width() * t / tiles * 2] = true; // first output column of tile t
      }
      double across = 0;
      double inside = 0;
      int nAcross = 0;
      int nInside = 0;
      for (int y = 0; y < out.height(); y++) {
        for (int x = 1; x < out.width(); x++) {
          for (int c = 0; c < 3; c++) {
            double d = Math.abs(out.at(x, y, c) - out.at(x - 1, y, c));
            if (border[x]) {
              across += d;
              nAcross++;
            } else {
              inside += d;
              nInside++;
            }
          }
        }
      }
      across /= nAcross;
      inside /= nInside;
      System.out.printf(
          "%s: mean |step| across tile borders %.3f, inside tiles %.3f%n", name, across, inside);
      assertThat(across)
          .as("%s: step across tile borders vs inside", name)
          .isLessThanOrEqualTo(inside * 1.25);
    }
  }

  @Test
  void outputHasTheTargetSizeAndRange() throws Exception {
    RgbFrame in = Resampler.resize(Photos.load("rocket"), 212, 120);
    RgbFrame out = tiled.upscale(in, 480, 270, () -> false);
    assertThat(out.width()).isEqualTo(480);
    assertThat(out.height()).isEqualTo(270);
    float min = Float.MAX_VALUE;
    float max = -Float.MAX_VALUE;
    for (float v : out.pixels()) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertThat(min).isGreaterThanOrEqualTo(0f);
    assertThat(max).isLessThanOrEqualTo(255f);
    assertThat(max - min).as("not a flat frame").isGreaterThan(100f);
    // auto scale: 212x120 needs x3 to cover 480x270
    assertThat(tiled.scaleFor(212, 120, 480, 270)).isEqualTo(2);
    try (EsrganUpscaler auto = EsrganUpscaler.builder().build()) {
      assertThat(auto.scaleFor(212, 120, 480, 270)).isEqualTo(3);
      assertThat(auto.scaleFor(848, 480, 1920, 1080)).isEqualTo(3);
      assertThat(auto.scaleFor(1280, 720, 1920, 1080)).isEqualTo(2);
      assertThat(auto.scaleFor(256, 144, 1920, 1080)).isEqualTo(8);
    }
  }

  @Test
  void cancellationStopsBetweenTilesAndTheEngineStaysUsable() throws Exception {
    RgbFrame in = Photos.load("camera");
    AtomicInteger polls = new AtomicInteger();
    assertThatThrownBy(() -> tiled.upscaleByModel(in, 2, () -> polls.incrementAndGet() > 3))
        .isInstanceOf(UpscaleCancelledException.class);
    int tiles = ((in.width() + TILE - 1) / TILE) * ((in.height() + TILE - 1) / TILE);
    assertThat(polls.get()).as("stopped before running all tiles").isLessThan(tiles + 2);
    RgbFrame again = tiled.upscaleByModel(in, 2, () -> false);
    assertThat(again.width()).isEqualTo(in.width() * 2);
  }

  private static double maxAbsDiff(RgbFrame a, RgbFrame b) {
    double m = 0;
    for (int i = 0; i < a.pixels().length; i++) {
      m = Math.max(m, Math.abs(a.pixels()[i] - b.pixels()[i]));
    }
    return m;
  }
}
