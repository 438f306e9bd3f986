package dev.reelflow.engine.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.reelflow.engine.backend.BackendConformance.Check;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every {@link Backend} operation on every backend kind (OpenBLAS CPU, libtorch CPU in float32,
 * libtorch CPU with the CUDA precision policy, libtorch CUDA) against the reference code of {@link
 * BackendConformance}, at edge shapes: element offsets, leading dimensions, in-place calls, odd
 * sizes, 16-bit weights. The CUDA kind is skipped with the reason when no GPU is usable.
 */
class BackendConformanceTest {

  @AfterAll
  static void closeBackends() {
    ConformanceBackends.closeAll();
  }

  private static void run(ConformanceBackends.Kind kind, Function<Backend, List<Check>> group) {
    List<Check> checks = group.apply(ConformanceBackends.get(kind));
    assertThat(checks).isNotEmpty();
    assertThat(checks.stream().filter(c -> !c.passed()).map(Check::toString).toList())
        .as("failed checks on %s", kind)
        .isEmpty();
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void memoryViewsCopiesAndHostTransfers(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::memory);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void gatherPermutePadAndGroupMean(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::layout);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void gemmWithOffsetsLeadingDimensionsTransposesAndBatches(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::gemm);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void linearWithF32Bf16AndF16Weights(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::linear);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void elementwiseInPlaceAndAtOffsets(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::elementwise);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void reductionsNormsRopeAndSoftmax(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::norms);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void conv3dAndConv2d(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::convolutions);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void denseAndBlockSparseAttention(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::attention);
  }

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void topTilesEqualsTheHostSelection(ConformanceBackends.Kind kind) {
    run(kind, BackendConformance::topTiles);
  }

  @Test
  void aCheckFailsWhenAnOperationIsWrong() {
    // the harness itself must be able to fail: a backend whose silu is the identity
    Backend cpu = ConformanceBackends.get(ConformanceBackends.Kind.CPU);
    Backend broken =
        (Backend)
            java.lang.reflect.Proxy.newProxyInstance(
                Backend.class.getClassLoader(),
                new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                  if (m.getName().equals("silu")) {
                    cpu.copy((Tensor) args[0], 0, (Tensor) args[1], 0, ((Tensor) args[0]).size());
                    return null;
                  }
                  return m.invoke(cpu, args);
                });
    assertThat(BackendConformance.elementwise(broken).stream().filter(c -> !c.passed()))
        .extracting(Check::name)
        .contains("silu");
  }

  @Test
  void torchTensorsFromAnotherBackendAreRefused() {
    Backend torch = ConformanceBackends.get(ConformanceBackends.Kind.TORCH_CPU);
    Backend cpu = ConformanceBackends.get(ConformanceBackends.Kind.CPU);
    try (Tensor a = cpu.allocate(4);
        Tensor b = torch.allocate(4)) {
      assertThatThrownBy(() -> torch.add(a, b, b))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("belongs to backend cpu");
    }
  }

  @Test
  void torchOutOfMemoryIsATypedExceptionWithTheRequestedBytes() {
    Backend torch = ConformanceBackends.get(ConformanceBackends.Kind.TORCH_CPU);
    // 2^50 floats (4 PiB) cannot be allocated anywhere
    assertThatThrownBy(() -> torch.allocate(1L << 25, 1L << 25))
        .isInstanceOfSatisfying(
            DeviceOutOfMemoryException.class,
            e -> {
              assertThat(e.device()).isEqualTo("cpu");
              assertThat(e.requestedBytes()).isEqualTo(4L << 50);
            })
        .hasMessageContaining("out of memory on cpu");
    // and the backend stays usable
    try (Tensor t = torch.fromArray(new float[] {1, 2}, 2)) {
      assertThat(torch.toArray(t)).containsExactly(1f, 2f);
    }
  }

  @Test
  void closedStorageIsNotUsableThroughItsViews() {
    Backend torch = ConformanceBackends.get(ConformanceBackends.Kind.TORCH_CPU);
    Tensor t = torch.allocate(2, 3);
    Tensor v = t.slice(3, 3);
    t.close();
    assertThatThrownBy(() -> torch.fill(v, 1f))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }
}
