package dev.reelflow.engine;

import dev.reelflow.engine.weights.SafetensorsWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * Output of one generation.
 *
 * @param latentShape [32, T, h, w] of the final latents (before the VAE scaling is undone)
 * @param latents the latents, row-major float32
 * @param frames decoded RGB frames, one packed ARGB int[] (alpha 0xff) per frame, row-major
 * @param width frame width
 * @param height frame height
 * @param modelId e.g. {@code hunyuanvideo-1.5-tiny}
 * @param weightsId {@code random-init} when no checkpoint was loaded, else the checkpoint files
 * @param backend backend name, e.g. {@code cpu}
 * @param device device description
 * @param attention attention mode used (dense or ssta(...))
 * @param textEncoder id of the text encoder
 * @param stepSeconds wall seconds of the denoising loop
 * @param decodeSeconds wall seconds of the VAE decode
 */
@EngineApi
public record GenerationResult(
    long[] latentShape,
    float[] latents,
    List<int[]> frames,
    int width,
    int height,
    String modelId,
    String weightsId,
    String backend,
    String device,
    String attention,
    String textEncoder,
    double stepSeconds,
    double decodeSeconds) {

  /** Writes the latents as a safetensors file with tensor name {@code latents} and metadata. */
  public void writeLatents(OutputStream out) throws IOException {
    new SafetensorsWriter()
        .add("latents", latentShape, latents)
        .metadata("model", modelId)
        .metadata("weights", weightsId)
        .metadata("backend", backend)
        .writeTo(out);
  }
}
