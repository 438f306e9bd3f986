package dev.reelflow.worker;

import dev.reelflow.engine.weights.SafetensorsFile;
import dev.reelflow.engine.weights.SafetensorsWriter;
import dev.reelflow.worker.spi.Latents;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.TreeMap;

/**
 * The base stage's {@code latents.safetensors}: one F32 tensor named {@code latents} with string
 * metadata, in the safetensors format the engine reads and writes (so the reference model's Python
 * tools read it too). Metadata is written in key order, so equal latents give equal bytes, which
 * the write-once artifacts rely on.
 */
final class LatentsFile {

  /** Tensor name of the latents. */
  static final String LATENTS = "latents";

  private LatentsFile() {}

  static void write(Latents latents, OutputStream out) throws IOException {
    SafetensorsWriter w = new SafetensorsWriter();
    new TreeMap<>(latents.metadata()).forEach(w::metadata);
    w.add(LATENTS, Arrays.stream(latents.shape()).asLongStream().toArray(), latents.data());
    w.writeTo(out);
  }

  static byte[] toBytes(Latents latents) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream(latents.data().length * 4 + 256);
    write(latents, bos);
    return bos.toByteArray();
  }

  /** Reads the {@code latents} tensor (F32) and the metadata of a safetensors file. */
  static Latents read(byte[] file) throws IOException {
    try (SafetensorsFile f = SafetensorsFile.of(file, LATENTS + ".safetensors")) {
      SafetensorsFile.Entry e = f.entries().get(LATENTS);
      if (e == null) {
        throw new IOException("safetensors file has no tensor named '" + LATENTS + "'");
      }
      if (!e.dtype().equals("F32")) {
        throw new IOException("latents dtype is " + e.dtype() + ", expected F32");
      }
      int[] shape = Arrays.stream(e.shape()).mapToInt(Math::toIntExact).toArray();
      return new Latents(shape, f.floats(LATENTS), f.metadata());
    }
  }
}
