package dev.reelflow.engine.dit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.weights.ParamSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class DitConfigTest {
  @Test
  void realConfigHasTheReferenceShapeAndAbout8Point3BillionParameters() {
    DitConfig c = DitConfig.p480();
    assertThat(c.depth()).isEqualTo(54);
    assertThat(c.hidden()).isEqualTo(2048);
    assertThat(c.headDim()).isEqualTo(128);
    assertThat(c.ropeDims()).containsExactly(16, 56, 56);
    assertThat(c.inChannels()).isEqualTo(65);
    List<ParamSpec> p = HunyuanDit.params(c);
    long n = p.stream().mapToLong(ParamSpec::size).sum();
    // the reference reports 8.3B parameters
    assertThat(n).isBetween(8_250_000_000L, 8_350_000_000L);
    assertThat(p.stream().map(ParamSpec::name))
        .contains(
            "img_in.proj.weight",
            "double_blocks.53.txt_mlp.fc2.weight",
            "double_blocks.0.img_attn_q_norm.weight",
            "txt_in.individual_token_refiner.blocks.1.adaLN_modulation.1.weight",
            "byt5_in.fc3.weight",
            "vision_in.proj.4.bias",
            "cond_type_embedding.weight",
            "final_layer.adaLN_modulation.1.weight");
    assertThat(
            p.stream()
                .filter(s -> s.name().equals("img_in.proj.weight"))
                .findFirst()
                .orElseThrow()
                .shape())
        .containsExactly(2048, 65, 1, 1, 1);
  }

  @Test
  void tinyKeepsTheRopeProportions() {
    DitConfig t = DitConfig.tiny();
    assertThat(t.headDim()).isEqualTo(64);
    assertThat(t.ropeDims()).containsExactly(8, 28, 28);
    assertThat(DitConfig.ropeSplit(128)).containsExactly(16, 56, 56);
    assertThatThrownBy(() -> DitConfig.named("1080p")).hasMessageContaining("tiny, 480p or 720p");
  }
}
