package dev.reelflow.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class GpuTelemetryTest {

  private static boolean nvidiaDevice() {
    return Files.exists(Path.of("/dev/nvidia0"));
  }

  @Test
  void withoutADriverTelemetryIsEmptyAndSaysWhy() {
    assumeFalse(nvidiaDevice(), "an NVIDIA device is present: the no-driver path is not testable");
    try (GpuTelemetry t = GpuTelemetry.open()) {
      assertThat(t.available()).isFalse();
      assertThat(t.unavailableReason()).contains("NVML");
      assertThat(t.sample()).isEmpty();
      assertThat(t.deviceNames()).isEmpty();
      assertThat(t.cudaDriverVersion()).isEqualTo("unknown");
    }
  }

  @Test
  void withAGpuEveryDeviceReportsMemoryAndUtilization() {
    assumeTrue(nvidiaDevice(), "no NVIDIA device on this machine: GPU telemetry not exercised");
    try (GpuTelemetry t = GpuTelemetry.open()) {
      assertThat(t.available()).as(t.unavailableReason()).isTrue();
      assertThat(t.sample())
          .isNotEmpty()
          .allSatisfy(
              d -> {
                assertThat(d.memoryTotalBytes()).isPositive();
                assertThat(d.memoryUsedBytes()).isBetween(0L, d.memoryTotalBytes());
              });
    }
  }

  @Test
  void cudaDriverVersionsReadAsMajorMinor() {
    assertThat(GpuTelemetry.cudaVersion(13010)).isEqualTo("13.1");
    assertThat(GpuTelemetry.cudaVersion(12080)).isEqualTo("12.8");
    assertThat(GpuTelemetry.cudaVersion(0)).isEqualTo("unknown");
  }

  @Test
  void gpuSeriesCarryIndexAndNameAndAreAbsentWithoutAGpu() throws Exception {
    try (GpuTelemetry t = GpuTelemetry.open()) {
      WorkerMetrics m = new WorkerMetrics("BASE", 1L << 30, t);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      new PrometheusTextFormatWriter(false).write(out, m.registry.scrape());
      String text = out.toString(StandardCharsets.UTF_8);
      for (String series :
          new String[] {
            GpuTelemetry.MEMORY_USED, GpuTelemetry.MEMORY_TOTAL, GpuTelemetry.UTILIZATION
          }) {
        if (t.available()) {
          assertThat(text).containsPattern(series + "\\{gpu=\"0\",name=\"[^\"]+\"\\} ");
        } else {
          assertThat(text).doesNotContain(series);
        }
      }
      assertThat(text).contains("reelflow_worker_device_memory_budget_bytes 1.073741824E9");
    }
  }
}
