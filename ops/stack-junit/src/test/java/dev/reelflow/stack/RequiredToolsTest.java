package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

class RequiredToolsTest {

  @Test
  void aMissingToolSkipsWithItsReasonUnlessTheSwitchRequiresIt() {
    assertThatThrownBy(() -> RequiredTools.assume("ffmpeg", false, "no ffprobe", Set.of()))
        .isInstanceOf(TestAbortedException.class)
        .hasMessageContaining("needs ffmpeg: no ffprobe");
    assertThatThrownBy(
            () -> RequiredTools.assume("ffmpeg", false, "no ffprobe", Set.of("ffmpeg", "node")))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("ffmpeg is required here")
        .hasMessageContaining("no ffprobe");
    assertThatThrownBy(() -> RequiredTools.assume("chromium", false, "no browser", Set.of("node")))
        .isInstanceOf(TestAbortedException.class);
    assertThatCode(() -> RequiredTools.assume("ffmpeg", true, "x", Set.of("ffmpeg")))
        .doesNotThrowAnyException();
  }

  @Test
  void theSwitchIsACommaSeparatedList() {
    assertThat(RequiredTools.parse(" ffmpeg, chromium,,node "))
        .containsOnly("ffmpeg", "chromium", "node");
    assertThat(RequiredTools.parse(null)).isEmpty();
    assertThat(RequiredTools.onPath("sh")).isPresent();
    assertThat(RequiredTools.onPath("no-such-tool-" + System.nanoTime())).isEmpty();
  }
}
