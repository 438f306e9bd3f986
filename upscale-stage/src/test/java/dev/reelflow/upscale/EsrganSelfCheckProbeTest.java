package dev.reelflow.upscale;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.GpuSelfCheck;
import dev.reelflow.engine.backend.CpuBackend;
import org.junit.jupiter.api.Test;

/** The self-check's ESRGAN probe on a CPU backend: a stand-in shape, labelled as such. */
class EsrganSelfCheckProbeTest {
  @Test
  void measuresFramesPerSecondOnTheGivenBackendAndSaysWhenItIsAStandIn() {
    try (CpuBackend cpu = new CpuBackend(2)) {
      GpuSelfCheck.Measurement m = new EsrganSelfCheckProbe().run(cpu);
      assertThat(m.name()).isEqualTo("esrgan-x2-1080p");
      assertThat(m.unit()).isEqualTo("frames/s");
      assertThat(m.value()).isPositive();
      assertThat(m.seconds()).isPositive();
      assertThat(m.shape()).isEqualTo("2 frames 32x24 -> 64x48");
      assertThat(m.note())
          .contains("stand-in")
          .contains(EsrganWeights.THICK.bundled() ? "esrgan-thick" : "esrgan-slim");
    }
  }
}
