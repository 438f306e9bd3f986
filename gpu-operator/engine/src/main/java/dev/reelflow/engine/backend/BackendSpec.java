package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;
import java.util.Locale;

/**
 * Which backend to run on, as configured ({@code backend = ...}) or given on a command line ({@code
 * --backend ...}):
 *
 * <ul>
 *   <li>{@code cpu}: the OpenBLAS {@link CpuBackend} (the CPU default);
 *   <li>{@code torch}: {@link TorchBackend} on the CPU (libtorch, float32);
 *   <li>{@code cuda} or {@code cuda:N}: {@link TorchBackend} on CUDA device N (default 0).
 * </ul>
 *
 * Immutable. Opening it is {@link Backends#open}.
 */
@EngineApi
public final class BackendSpec {
  /** The backend family. */
  public enum Kind {
    CPU,
    TORCH,
    CUDA
  }

  private final Kind kind;
  private final int deviceIndex;

  private BackendSpec(Kind kind, int deviceIndex) {
    this.kind = kind;
    this.deviceIndex = deviceIndex;
  }

  /** The OpenBLAS CPU backend. */
  public static BackendSpec cpu() {
    return new BackendSpec(Kind.CPU, -1);
  }

  /** libtorch on the CPU. */
  public static BackendSpec torch() {
    return new BackendSpec(Kind.TORCH, -1);
  }

  /** libtorch on CUDA device {@code index}. */
  public static BackendSpec cuda(int index) {
    if (index < 0) {
      throw new IllegalArgumentException("CUDA device index must be >= 0, got " + index);
    }
    return new BackendSpec(Kind.CUDA, index);
  }

  /**
   * Parses {@code cpu | torch | cuda | cuda:N} (case-insensitive, surrounding blanks ignored).
   *
   * @throws IllegalArgumentException naming the accepted forms
   */
  public static BackendSpec parse(String text) {
    if (text == null) {
      throw new IllegalArgumentException("backend is missing; use cpu, torch, cuda or cuda:N");
    }
    String s = text.trim().toLowerCase(Locale.ROOT);
    switch (s) {
      case "cpu":
        return cpu();
      case "torch":
        return torch();
      case "cuda":
        return cuda(0);
      default:
        if (s.startsWith("cuda:")) {
          String n = s.substring(5);
          if (!n.isEmpty() && n.chars().allMatch(Character::isDigit) && n.length() <= 4) {
            return cuda(Integer.parseInt(n));
          }
        }
        throw new IllegalArgumentException(
            "backend '" + text + "' is not one of cpu, torch, cuda, cuda:N (N a device index)");
    }
  }

  public Kind kind() {
    return kind;
  }

  /** The CUDA device index, or -1 for the CPU kinds. */
  public int deviceIndex() {
    return deviceIndex;
  }

  public boolean isCuda() {
    return kind == Kind.CUDA;
  }

  /** The canonical text: {@code cpu}, {@code torch} or {@code cuda:N}. */
  @Override
  public String toString() {
    return switch (kind) {
      case CPU -> "cpu";
      case TORCH -> "torch";
      case CUDA -> "cuda:" + deviceIndex;
    };
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BackendSpec b && b.kind == kind && b.deviceIndex == deviceIndex;
  }

  @Override
  public int hashCode() {
    return kind.hashCode() * 31 + deviceIndex;
  }
}
