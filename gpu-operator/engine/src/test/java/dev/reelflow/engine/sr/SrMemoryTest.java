package dev.reelflow.engine.sr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.engine.dit.DitConfig;
import dev.reelflow.engine.vae.VaeConfig;
import dev.reelflow.engine.vae.VaeTiling;
import org.junit.jupiter.api.Test;

/**
 * The SR stage's memory estimate at the released sizes (shapes only: no weights are read). Prints
 * the 1080p figures per backend; asserts only the structure of the estimate.
 */
class SrMemoryTest {
  /** 720p 16:9 base of 121 frames: 31 x 45 x 80 latents. */
  private static SrStage.Grid grid1080(int frames) {
    return new SrStage.Grid(frames, 67, 119, 1072, 1904, true);
  }

  @Test
  void estimatesAt1080p() {
    DitConfig dit = DitConfig.p720().toBuilder().name("1080p_sr_distilled").inChannels(98).build();
    // the released 1080p upsampler's config is not available here: ~57 M parameters, widest 512
    // (the released file is about 201 MB)
    var up =
        SrTo1080pUpsampler.params(
            new SrTo1080pUpsampler.Config(32, 32, new int[] {512, 512}, 1, false));
    VaeConfig vae = VaeConfig.reference();
    SrStage.Grid g = grid1080(31);
    SrMemory cpu =
        SrMemory.estimate(
            dit, up, vae, VaeTiling.forDeviceMemory(0), g, SrMemory.Weights.LINEAR_16, 4);
    SrMemory gpu16 =
        SrMemory.estimate(
            dit, up, vae, VaeTiling.forDeviceMemory(80L << 30), g, SrMemory.Weights.ALL_16, 2);
    SrMemory fp32 =
        SrMemory.estimate(
            dit, up, vae, VaeTiling.forDeviceMemory(80L << 30), g, SrMemory.Weights.F32, 4);
    System.out.println(
        "SR 1080p, 121 frames (estimate), cpu (16-bit linear weights, float32 VAE/upsampler/activations, 128 px VAE tiles): "
            + cpu);
    System.out.println(
        "SR 1080p, 121 frames (estimate), gpu (16-bit transformer/VAE weights and activations, float32 upsampler, 256 px VAE tiles): "
            + gpu16);
    System.out.println("SR 1080p, 121 frames (estimate), all float32, 256 px VAE tiles: " + fp32);
    // 8.33 B transformer parameters (16.7 GB in 16 bits) + the 0.87 B decoder (fp16) + upsampler
    assertThat(gpu16.weightBytes()).isBetween(18_000_000_000L, 19_000_000_000L);
    // float32: twice the transformer and decoder
    assertThat(fp32.weightBytes()).isBetween(36_500_000_000L, 37_500_000_000L);
    // the CPU backend keeps the transformer's linear weights (modulations included) 16-bit, the
    // VAE decoder (3.5 GB) and the upsampler float32
    assertThat(cpu.weightBytes()).isBetween(20_000_000_000L, 20_800_000_000L);
    // 247,163 tokens: the transformer step dominates, and halves with 16-bit activations
    assertThat(cpu.transformerBytes()).isGreaterThan(cpu.upsamplerBytes());
    assertThat(gpu16.transformerBytes() * 2).isEqualTo(cpu.transformerBytes());
    // bigger VAE tiles need more; a shorter clip needs less
    assertThat(fp32.vaeBytes()).isGreaterThan(cpu.vaeBytes());
    SrMemory short33 =
        SrMemory.estimate(
            dit, up, vae, VaeTiling.forDeviceMemory(0), grid1080(9), SrMemory.Weights.LINEAR_16, 4);
    assertThat(short33.peakBytes()).isLessThan(cpu.peakBytes());
  }
}
