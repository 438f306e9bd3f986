package dev.reelflow.upscale;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * A parsed TF.js layers model: the Keras functional topology in file order and the weights from the
 * manifest, as float32 arrays keyed by tensor name ({@code layer/kernel}).
 */
record TfjsLayersModel(
    String source,
    String generatedBy,
    List<Layer> layers,
    String inputLayer,
    String outputLayer,
    Map<String, Weight> weights) {

  /** One Keras layer: its class, its input layers (in order) and its raw config. */
  record Layer(String name, String className, List<String> inbound, JsonNode config) {}

  /** One weight tensor, shape as in the manifest (conv kernels are [kh, kw, in, out]). */
  record Weight(String name, int[] shape, float[] values) {
    int dim(int i) {
      return shape[i];
    }
  }

  Layer layer(String name) {
    for (Layer l : layers) {
      if (l.name().equals(name)) {
        return l;
      }
    }
    throw new ModelFormatException(source + ": no layer named '" + name + "'");
  }

  long parameterCount() {
    long n = 0;
    for (Weight w : weights.values()) {
      n += w.values().length;
    }
    return n;
  }
}
