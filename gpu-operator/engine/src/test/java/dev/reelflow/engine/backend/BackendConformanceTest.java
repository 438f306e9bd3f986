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

  @ParameterizedTest
  @EnumSource(ConformanceBackends.Kind.class)
  void fromHostReadsAMemoryMappedFileRegionInItsStoredType(
      ConformanceBackends.Kind kind, @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    Backend b = ConformanceBackends.get(kind);
    // as SafetensorsFile does: map the tensor's byte range, hand its address to the backend
    float[] f = {1.5f, -2.25f, 3f, 0.125f, 7f, -0.5f};
    java.nio.ByteBuffer bytes =
        java.nio.ByteBuffer.allocate(8 + 4 * f.length + 2 * f.length)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    bytes.putLong(42);
    for (float v : f) {
      bytes.putFloat(v);
    }
    for (float v : f) {
      bytes.putShort(DType.floatToBf16(v));
    }
    java.nio.file.Path file = dir.resolve("t.bin");
    java.nio.file.Files.write(file, bytes.array());
    try (var ch = java.nio.channels.FileChannel.open(file)) {
      var f32 = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 8, 4L * f.length);
      var b16 =
          ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 8 + 4L * f.length, 2L * f.length);
      try (org.bytedeco.javacpp.Pointer p32 = new org.bytedeco.javacpp.Pointer(f32);
          org.bytedeco.javacpp.Pointer p16 = new org.bytedeco.javacpp.Pointer(b16);
          Tensor a = b.fromHost(p32, DType.F32, 2, 3);
          Tensor h = b.fromHost(p16, DType.BF16, 2, 3);
          Tensor w = b.convert(h, DType.F32)) {
        assertThat(b.toArray(a)).containsExactly(f);
        assertThat(h.dtype()).isEqualTo(DType.BF16);
        assertThat(b.toArray(w)).containsExactly(f); // all exactly representable in bf16
      }
    }
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
