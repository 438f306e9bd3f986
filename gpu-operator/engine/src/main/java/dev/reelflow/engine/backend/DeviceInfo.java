package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;

/**
 * One compute device as the runtime reports it.
 *
 * @param spec how to select it, e.g. {@code cuda:0} or {@code cpu}
 * @param name the device name, e.g. {@code NVIDIA H100 80GB HBM3}
 * @param totalBytes device memory (host memory for the CPU), or -1 when unknown
 * @param freeBytes free device memory now, or -1 when unknown
 * @param computeCapability e.g. {@code 9.0}; empty for the CPU
 */
@EngineApi
public record DeviceInfo(
    String spec, String name, long totalBytes, long freeBytes, String computeCapability) {

  @Override
  public String toString() {
    return spec
        + " "
        + name
        + (totalBytes >= 0 ? ", " + DeviceOutOfMemoryException.human(totalBytes) + " total" : "")
        + (freeBytes >= 0 ? ", " + DeviceOutOfMemoryException.human(freeBytes) + " free" : "")
        + (computeCapability.isEmpty() ? "" : ", compute capability " + computeCapability);
  }
}
