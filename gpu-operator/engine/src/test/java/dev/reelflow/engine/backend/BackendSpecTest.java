package dev.reelflow.engine.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

class BackendSpecTest {

  @Test
  void parsesEveryFormAndPrintsTheCanonicalText() {
    assertThat(BackendSpec.parse("cpu")).isEqualTo(BackendSpec.cpu());
    assertThat(BackendSpec.parse(" Torch ").kind()).isEqualTo(BackendSpec.Kind.TORCH);
    assertThat(BackendSpec.parse("cuda")).isEqualTo(BackendSpec.cuda(0));
    assertThat(BackendSpec.parse("cuda:3").deviceIndex()).isEqualTo(3);
    assertThat(BackendSpec.parse("CUDA:1").toString()).isEqualTo("cuda:1");
    assertThat(BackendSpec.parse("cuda").isCuda()).isTrue();
    assertThat(BackendSpec.cpu().deviceIndex()).isEqualTo(-1);
  }

  @Test
  void rejectsAnythingElseNamingTheAcceptedForms() {
    for (String bad : new String[] {"gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:0:1", "", "rocm"}) {
      assertThatThrownBy(() -> BackendSpec.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("cpu, torch, cuda, cuda:N");
    }
    assertThatThrownBy(() -> BackendSpec.parse(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void opensTheCpuKinds() {
    try (Backend cpu = Backends.open(BackendSpec.parse("cpu"), 1);
        Backend torch = Backends.open(BackendSpec.parse("torch"), 2)) {
      assertThat(cpu).isInstanceOf(CpuBackend.class);
      assertThat(torch).isInstanceOf(TorchBackend.class);
      assertThat(((TorchBackend) torch).isCuda()).isFalse();
      assertThat(torch.device()).contains("cpu").contains("F32");
    }
    assertThat(Backends.devices().get(0).spec()).isEqualTo("cpu");
  }

  @Test
  void cudaWithoutAGpuFailsAtOpenSayingWhatIsMissing() {
    String why = ConformanceBackends.cudaUnavailable();
    assumeTrue(why != null, "a CUDA device is usable here; the refusal path is not reachable");
    assertThatThrownBy(() -> Backends.open(BackendSpec.parse("cuda"), 2))
        .isInstanceOfSatisfying(
            BackendUnavailableException.class,
            e -> {
              assertThat(e.getMessage()).startsWith("cuda:0");
              if (!TorchRuntime.cudaBuild()) {
                assertThat(e.reason()).isEqualTo(BackendUnavailableException.Reason.NO_CUDA_BUILD);
                assertThat(e.getMessage()).contains("-Pcuda").contains("linux-x86_64-gpu");
              }
            });
    assertThat(TorchRuntime.devices()).isEmpty();
  }
}
