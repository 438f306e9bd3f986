package dev.reelflow.cli;

import dev.reelflow.engine.GpuSelfCheck;
import dev.reelflow.engine.backend.BackendSpec;
import dev.reelflow.engine.backend.BackendUnavailableException;
import dev.reelflow.upscale.EsrganSelfCheckProbe;
import dev.reelflow.worker.EncodeProbe;
import dev.reelflow.worker.GpuTelemetry;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code reelflow doctor}: the GPU self-check a user runs in minutes. Prints the driver (NVML), the
 * libraries and devices, runs the backend conformance checks on the chosen device against the CPU
 * backend, then a short benchmark (dense attention vs SSTA at the 720p/121-frame shape, one DiT
 * block at 480p and 720p, GEMM throughput against the card's peak, ESRGAN x2 and H.264 encode at
 * 1080p), as a table and as JSON.
 */
@Command(
    name = "doctor",
    mixinStandardHelpOptions = true,
    description = {
      "GPU self-check: devices, driver and library versions, the backend conformance checks on",
      "the device against the CPU backend, then a short benchmark printed as a table and written",
      "as JSON. About 5-8 minutes on one H100 with --backend cuda; under a minute with torch/cpu",
      "(small stand-in shapes, labelled). Exit 0 when every check passed, 1 when one failed, 6",
      "when the backend cannot run here."
    })
final class DoctorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--backend",
      defaultValue = "cuda",
      description = "Backend to check: cuda, cuda:N, torch (libtorch on the CPU) or cpu.")
  String backend;

  @Option(
      names = "--out",
      defaultValue = "reelflow-doctor.json",
      description = "Where to write the JSON report.")
  Path out;

  @Option(
      names = "--budget-seconds",
      defaultValue = "420",
      description = "Benchmarks still pending after this many seconds are skipped (and say so).")
  long budgetSeconds;

  @Option(
      names = "--threads",
      description = "CPU threads of the CPU backends (default: all processors).")
  Integer threads;

  @Option(
      names = "--encode-frames",
      defaultValue = "48",
      description = "Frames of the 1080p H.264 encode figure.")
  int encodeFrames;

  @Override
  public Integer call() throws Exception {
    PrintWriter o = spec.commandLine().getOut();
    BackendSpec which;
    try {
      which = BackendSpec.parse(backend);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCode.USAGE, "--backend: " + e.getMessage());
    }
    if (budgetSeconds < 1 || encodeFrames < 1) {
      throw new CliException(ExitCode.USAGE, "--budget-seconds and --encode-frames must be >= 1");
    }
    try (GpuTelemetry nvml = GpuTelemetry.open()) {
      o.println(
          nvml.available()
              ? "driver "
                  + nvml.driverVersion()
                  + " (CUDA "
                  + nvml.cudaDriverVersion()
                  + "), GPUs "
                  + nvml.deviceNames()
              : "no NVIDIA driver: " + nvml.unavailableReason());
    }
    o.flush();
    GpuSelfCheck.Builder b =
        GpuSelfCheck.builder()
            .backend(which)
            .output(out)
            .budget(Duration.ofSeconds(budgetSeconds))
            .probe(new EsrganSelfCheckProbe())
            .probe(new EncodeProbe(encodeFrames));
    if (threads != null) {
      b.threads(threads);
    }
    GpuSelfCheck.Report r;
    try {
      r = b.build().run();
    } catch (BackendUnavailableException e) {
      throw new CliException(ExitCode.UNAVAILABLE, "--backend " + which + ": " + e.getMessage());
    }
    o.println(r.table());
    o.println("report: " + out.toAbsolutePath());
    o.flush();
    return r.passed() ? ExitCode.OK : ExitCode.RENDER_FAILED;
  }
}
