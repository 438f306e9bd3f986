package dev.reelflow.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import org.junit.jupiter.api.Test;

class VocabularyTest {

  @Test
  void mapsApiStringsToSymbolsAndBack() {
    assertThat(Vocabulary.resolution("preview")).isEqualTo(Resolution.PREVIEW);
    assertThat(Vocabulary.resolution("480p")).isEqualTo(Resolution.P480);
    assertThat(Vocabulary.resolution("720p")).isEqualTo(Resolution.P720);
    assertThat(Vocabulary.upscale("none")).isEqualTo(UpscaleTarget.NONE);
    assertThat(Vocabulary.upscale("1080p")).isEqualTo(UpscaleTarget.P1080);
    assertThat(Vocabulary.aspectRatio("16:9")).isEqualTo(AspectRatio.AR_16_9);
    assertThat(Vocabulary.aspectRatio("9:16")).isEqualTo(AspectRatio.AR_9_16);
    assertThat(Vocabulary.aspectRatio("1:1")).isEqualTo(AspectRatio.AR_1_1);
    assertThat(Vocabulary.aspectRatio("4:3")).isEqualTo(AspectRatio.AR_4_3);
    assertThat(Vocabulary.aspectRatio("3:4")).isEqualTo(AspectRatio.AR_3_4);
    assertThat(Vocabulary.mode("t2v")).isEqualTo(Mode.T2V);
    assertThat(Vocabulary.mode("i2v")).isEqualTo(Mode.I2V);
    assertThat(Vocabulary.state("SUCCEEDED")).isEqualTo(RenderState.SUCCEEDED);
    assertThat(Vocabulary.stage("UPSCALE")).isEqualTo(Stage.UPSCALE);
  }

  @Test
  void everySymbolRoundTrips() {
    for (Resolution r : Resolution.values()) {
      assertThat(Vocabulary.resolution(Vocabulary.resolution(r))).isEqualTo(r);
    }
    for (UpscaleTarget u : UpscaleTarget.values()) {
      assertThat(Vocabulary.upscale(Vocabulary.upscale(u))).isEqualTo(u);
    }
    for (AspectRatio a : AspectRatio.values()) {
      assertThat(Vocabulary.aspectRatio(Vocabulary.aspectRatio(a))).isEqualTo(a);
    }
    for (Mode m : Mode.values()) {
      assertThat(Vocabulary.mode(Vocabulary.mode(m))).isEqualTo(m);
    }
    for (RenderState s : RenderState.values()) {
      assertThat(Vocabulary.state(Vocabulary.state(s))).isEqualTo(s);
    }
    for (Stage s : Stage.values()) {
      assertThat(Vocabulary.stage(Vocabulary.stage(s))).isEqualTo(s);
    }
  }

  @Test
  void formatsCanonicalApiStrings() {
    assertThat(Vocabulary.resolution(Resolution.P480)).isEqualTo("480p");
    assertThat(Vocabulary.upscale(UpscaleTarget.P1080)).isEqualTo("1080p");
    assertThat(Vocabulary.aspectRatio(AspectRatio.AR_4_3)).isEqualTo("4:3");
    assertThat(Vocabulary.mode(Mode.I2V)).isEqualTo("i2v");
    assertThat(Vocabulary.resolutions()).containsExactly("preview", "480p", "720p");
    assertThat(Vocabulary.aspectRatios()).containsExactly("16:9", "9:16", "1:1", "4:3", "3:4");
    assertThat(Vocabulary.states())
        .containsExactly(
            "ACCEPTED",
            "QUEUED",
            "RENDERING",
            "UPSCALING",
            "SUCCEEDED",
            "FAILED",
            "CANCELLED",
            "EXPIRED");
  }

  @Test
  void parsingIgnoresCaseAndSurroundingSpace() {
    assertThat(Vocabulary.resolution(" 480P ")).isEqualTo(Resolution.P480);
    assertThat(Vocabulary.mode("I2V")).isEqualTo(Mode.I2V);
    assertThat(Vocabulary.state("queued")).isEqualTo(RenderState.QUEUED);
  }

  @Test
  void unknownValuesNameTheFieldAndListAllowedValues() {
    assertThatThrownBy(() -> Vocabulary.resolution("1080p"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("resolution '1080p' is not supported")
        .hasMessageContaining("preview, 480p, 720p");
    assertThatThrownBy(() -> Vocabulary.aspectRatio("21:9"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("aspectRatio")
        .hasMessageContaining("16:9, 9:16, 1:1, 4:3, 3:4");
    assertThatThrownBy(() -> Vocabulary.upscale("4k")).hasMessageContaining("none, 1080p");
    assertThatThrownBy(() -> Vocabulary.mode((String) null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mode is missing")
        .hasMessageContaining("t2v, i2v");
    assertThatThrownBy(() -> Vocabulary.state("DONE")).hasMessageContaining("SUCCEEDED");
  }

  @Test
  void terminalStates() {
    assertThat(Vocabulary.isTerminal(RenderState.SUCCEEDED)).isTrue();
    assertThat(Vocabulary.isTerminal(RenderState.EXPIRED)).isTrue();
    assertThat(Vocabulary.isTerminal(RenderState.UPSCALING)).isFalse();
    assertThat(Vocabulary.isTerminal(RenderState.ACCEPTED)).isFalse();
  }
}
