package dev.reelflow.engine.backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.EnumMap;
import java.util.Map;

/** The backends the conformance and parity tests run on, opened once per test JVM. */
final class ConformanceBackends {
  /** A backend configuration under test. */
  enum Kind {
    /** The OpenBLAS CPU backend (the reference implementation of the engine). */
    CPU,
    /** libtorch on the CPU, float32 (the CPU precision policy). */
    TORCH_CPU,
    /** libtorch on the CPU with the CUDA precision policy (bf16 casts run in CI). */
    TORCH_CPU_MIXED16,
    /** libtorch on cuda:0 with the CUDA precision policy; skipped without a GPU. */
    TORCH_CUDA
  }

  private static final Map<Kind, Backend> OPEN = new EnumMap<>(Kind.class);
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(ConformanceBackends.class);
  private static boolean cudaSkipLogged;

  private ConformanceBackends() {}

  static synchronized Backend get(Kind kind) {
    if (kind == Kind.TORCH_CUDA) {
      String why = cudaUnavailable();
      if (why != null && !cudaSkipLogged) {
        cudaSkipLogged = true;
        LOG.warn("CUDA conformance and parity tests SKIPPED: {}", why);
      }
      assumeTrue(why == null, () -> "CUDA conformance skipped: " + why);
    }
    return OPEN.computeIfAbsent(
        kind,
        k ->
            switch (k) {
              case CPU -> new CpuBackend(2);
              case TORCH_CPU -> TorchBackend.builder().threads(2).build();
              case TORCH_CPU_MIXED16 ->
                  TorchBackend.builder()
                      .threads(2)
                      .precision(TorchBackend.Precision.MIXED16)
                      .build();
              case TORCH_CUDA -> TorchBackend.builder().cuda(0).build();
            });
  }

  /** Why cuda:0 cannot run here, or null when it can. */
  static String cudaUnavailable() {
    try {
      TorchRuntime.requireCuda(0);
      return null;
    } catch (BackendUnavailableException e) {
      return e.getMessage();
    }
  }

  static synchronized void closeAll() {
    OPEN.values().forEach(Backend::close);
    OPEN.clear();
  }
}
