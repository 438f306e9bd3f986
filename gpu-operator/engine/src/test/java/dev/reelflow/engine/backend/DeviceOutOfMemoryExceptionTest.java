package dev.reelflow.engine.backend;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DeviceOutOfMemoryExceptionTest {

  @Test
  void readsRequestedAndFreeBytesFromTheCudaCachingAllocatorMessage() {
    // the message format of c10's CUDA caching allocator (torch 2.x)
    String msg =
        "CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79.10 GiB"
            + " of which 3.50 GiB is free. Including non-PyTorch memory, this process has 75.59 GiB"
            + " memory in use. Of the allocated memory 74.00 GiB is allocated by PyTorch";
    assertThat(DeviceOutOfMemoryException.isOutOfMemory(msg)).isTrue();
    DeviceOutOfMemoryException e = DeviceOutOfMemoryException.fromTorch("cuda:0", msg, null);
    assertThat(e.device()).isEqualTo("cuda:0");
    assertThat(e.requestedBytes()).isEqualTo(20L << 30);
    assertThat(e.freeBytes()).isEqualTo((long) (3.5 * (1L << 30)));
    assertThat(e.getMessage())
        .startsWith("out of memory on cuda:0: requested 20.00 GiB, free 3.50 GiB")
        .contains("block offload");
  }

  @Test
  void readsTheCpuAllocatorMessageAndToleratesUnknownCounts() {
    String cpu =
        "DefaultCPUAllocator: can't allocate memory: you tried to allocate 4503599627370496 bytes."
            + " Error code 12 (Cannot allocate memory)";
    DeviceOutOfMemoryException e = DeviceOutOfMemoryException.fromTorch("cpu", cpu, null);
    assertThat(e.requestedBytes()).isEqualTo(4503599627370496L);
    assertThat(e.freeBytes()).isEqualTo(-1);
    DeviceOutOfMemoryException unknown =
        DeviceOutOfMemoryException.fromTorch("cuda:1", "CUDA error: out of memory", null);
    assertThat(unknown.requestedBytes()).isEqualTo(-1);
    assertThat(unknown.getMessage()).contains("requested an unknown amount, free unknown");
    assertThat(
            DeviceOutOfMemoryException.isOutOfMemory("mat1 and mat2 shapes cannot be multiplied"))
        .isFalse();
  }
}
