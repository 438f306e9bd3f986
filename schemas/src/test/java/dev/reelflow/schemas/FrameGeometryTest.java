package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.FrameGeometry.FrameSize;
import dev.reelflow.schemas.FrameGeometry.LatentGrid;
import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameGeometryTest {

  @Test
  void referenceBucketsOfTheModel() {
    // Values stated in the reference notes (HunyuanVideo-1.5 pipeline, stride 16).
    assertThat(FrameGeometry.base(Resolution.P480, AspectRatio.AR_16_9))
        .isEqualTo(new FrameSize(848, 480));
    assertThat(FrameGeometry.base(Resolution.P480, AspectRatio.AR_1_1))
        .isEqualTo(new FrameSize(640, 640));
    assertThat(FrameGeometry.base(Resolution.P720, AspectRatio.AR_16_9))
        .isEqualTo(new FrameSize(1280, 720));
    assertThat(FrameGeometry.srGrid(AspectRatio.AR_16_9)).isEqualTo(new FrameSize(1904, 1072));
  }

  @Test
  void cropSizeListFollowsTheReferenceAlgorithm() {
    List<int[]> list = FrameGeometry.cropSizeList(640, 16);
    // The reference walks wp down from num_patches, keeping ratios <= 4.
    assertThat(list.get(0)).containsExactly(80 * 16, 20 * 16);
    assertThat(list).allSatisfy(hw -> assertThat(hw[0] * hw[1]).isLessThanOrEqualTo(640 * 640));
    assertThat(list)
        .allSatisfy(
            hw ->
                assertThat((double) Math.max(hw[0], hw[1]) / Math.min(hw[0], hw[1]))
                    .isLessThanOrEqualTo(4.0));
    assertThat(list).anySatisfy(hw -> assertThat(hw).containsExactly(480, 848));
  }

  @Test
  void portraitIsLandscapeTransposed() {
    for (Resolution r : Resolution.values()) {
      FrameSize land = FrameGeometry.base(r, AspectRatio.AR_16_9);
      FrameSize port = FrameGeometry.base(r, AspectRatio.AR_9_16);
      assertThat(port).isEqualTo(new FrameSize(land.height(), land.width()));
      FrameSize four3 = FrameGeometry.base(r, AspectRatio.AR_4_3);
      assertThat(FrameGeometry.base(r, AspectRatio.AR_3_4))
          .isEqualTo(new FrameSize(four3.height(), four3.width()));
    }
  }

  @Test
  void everyBaseSizeHasStrideAlignedSidesAndTheTiersPixelBudget() {
    long[] budget = {256L * 144, 640L * 640, 960L * 960};
    for (Resolution r : Resolution.values()) {
      for (AspectRatio a : AspectRatio.values()) {
        FrameSize s = FrameGeometry.base(r, a);
        assertThat(s.width() % 16).as("%s %s width", r, a).isZero();
        assertThat(s.height() % 16).as("%s %s height", r, a).isZero();
        long b = budget[r.ordinal()];
        assertThat(s.pixels()).as("%s %s pixels", r, a).isBetween(b * 85 / 100, b);
        int[] ratio = FrameGeometry.ratio(a);
        double wanted = (double) ratio[0] / ratio[1];
        double actual = (double) s.width() / s.height();
        assertThat(Math.abs(actual / wanted - 1)).as("%s %s ratio", r, a).isLessThan(0.05);
      }
    }
  }

  @Test
  void previewIsTheDraftTier() {
    assertThat(FrameGeometry.base(Resolution.PREVIEW, AspectRatio.AR_16_9))
        .isEqualTo(new FrameSize(256, 144));
    assertThat(FrameGeometry.base(Resolution.PREVIEW, AspectRatio.AR_1_1))
        .isEqualTo(new FrameSize(192, 192));
  }

  @Test
  void delivered1080pSizes() {
    assertThat(FrameGeometry.upscaled(AspectRatio.AR_16_9)).isEqualTo(new FrameSize(1920, 1080));
    assertThat(FrameGeometry.upscaled(AspectRatio.AR_9_16)).isEqualTo(new FrameSize(1080, 1920));
    assertThat(FrameGeometry.upscaled(AspectRatio.AR_1_1)).isEqualTo(new FrameSize(1080, 1080));
    assertThat(FrameGeometry.upscaled(AspectRatio.AR_4_3)).isEqualTo(new FrameSize(1440, 1080));
    assertThat(FrameGeometry.upscaled(AspectRatio.AR_3_4)).isEqualTo(new FrameSize(1080, 1440));
    assertThat(FrameGeometry.delivered(Resolution.P480, AspectRatio.AR_1_1, UpscaleTarget.NONE))
        .isEqualTo(new FrameSize(640, 640));
    assertThat(FrameGeometry.delivered(Resolution.P480, AspectRatio.AR_1_1, UpscaleTarget.P1080))
        .isEqualTo(new FrameSize(1080, 1080));
  }

  @Test
  void latentGridOfTheReference() {
    LatentGrid p480 = FrameGeometry.latent(Resolution.P480, AspectRatio.AR_16_9, 121);
    assertThat(p480).isEqualTo(new LatentGrid(31, 30, 53));
    assertThat(p480.tokens()).isEqualTo(49_290);
    assertThat(FrameGeometry.latent(Resolution.P720, AspectRatio.AR_16_9, 121).tokens())
        .isEqualTo(111_600);
    assertThat(FrameGeometry.latent(33, new FrameSize(256, 144)))
        .isEqualTo(new LatentGrid(9, 9, 16));
    assertThat(FrameGeometry.decodedFrames(31)).isEqualTo(121);
    assertThat(FrameGeometry.latentFrames(1)).isEqualTo(1);
    assertThatThrownBy(() -> FrameGeometry.latent(33, new FrameSize(250, 144)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("multiples of 16");
  }

  @Test
  void frameCountRule() {
    assertThat(FrameGeometry.isValidFrameCount(1)).isTrue();
    assertThat(FrameGeometry.isValidFrameCount(33)).isTrue();
    assertThat(FrameGeometry.isValidFrameCount(121)).isTrue();
    assertThat(FrameGeometry.isValidFrameCount(241)).isTrue();
    assertThat(FrameGeometry.isValidFrameCount(0)).isFalse();
    assertThat(FrameGeometry.isValidFrameCount(120)).isFalse();
    assertThat(FrameGeometry.isValidFrameCount(245)).isFalse();
    assertThatThrownBy(() -> FrameGeometry.requireValidFrameCount(120))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("4k+1")
        .hasMessageContaining("117 or 121");
    assertThatThrownBy(() -> FrameGeometry.requireValidFrameCount(300))
        .hasMessageContaining("nearest valid: 241");
  }
}
