package dev.reelflow.upscale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the TF.js "layers-model" format: {@code model.json} (Keras functional topology under
 * modelTopology.model_config and a weightsManifest) plus its little-endian binary shards.
 *
 * <p>Checks while loading: the format tag, that every layer's inputs are defined before it (the
 * file order is then a valid execution order), float32 weights only, and that the shards hold
 * exactly the bytes the manifest asks for; a mismatch names the shard, the tensor and the expected
 * against actual byte counts.
 */
final class TfjsModelLoader {
  private static final Logger LOG = LoggerFactory.getLogger(TfjsModelLoader.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private TfjsModelLoader() {}

  static TfjsLayersModel load(ModelSource source) {
    String where = source.describe();
    JsonNode root;
    try {
      root = JSON.readTree(source.read("model.json"));
    } catch (IOException e) {
      throw new ModelFormatException(
          where + ": cannot read model.json (" + e + "); the folder must hold a TF.js layers model",
          e);
    }
    String format = root.path("format").asText("");
    if (!format.equals("layers-model")) {
      throw new ModelFormatException(
          where + "/model.json: format is '" + format + "', expected 'layers-model'");
    }
    JsonNode topology = root.path("modelTopology");
    JsonNode modelConfig =
        topology.has("model_config") ? topology.get("model_config") : topology.path("config");
    JsonNode config = modelConfig.path("config");
    JsonNode layersNode = config.path("layers");
    if (!layersNode.isArray() || layersNode.isEmpty()) {
      throw new ModelFormatException(where + "/model.json: no layers under modelTopology");
    }
    List<TfjsLayersModel.Layer> layers = new ArrayList<>();
    Set<String> defined = new HashSet<>();
    for (JsonNode l : layersNode) {
      String name = l.path("name").asText(l.path("config").path("name").asText());
      String cls = l.path("class_name").asText();
      List<String> inbound = new ArrayList<>();
      JsonNode nodes = l.path("inbound_nodes");
      if (nodes.size() > 1) {
        throw new ModelFormatException(
            where
                + "/model.json: layer '"
                + name
                + "' is shared (called "
                + nodes.size()
                + " times); shared layers are not supported");
      }
      for (JsonNode node : nodes) {
        for (JsonNode ref : node) {
          String in = ref.get(0).asText();
          if (!defined.contains(in)) {
            throw new ModelFormatException(
                where
                    + "/model.json: layer '"
                    + name
                    + "' reads '"
                    + in
                    + "' which is not defined before it (layer order broken)");
          }
          inbound.add(in);
        }
      }
      if (!defined.add(name)) {
        throw new ModelFormatException(where + "/model.json: duplicate layer name '" + name + "'");
      }
      layers.add(new TfjsLayersModel.Layer(name, cls, List.copyOf(inbound), l.path("config")));
    }
    String input = single(config.path("input_layers"), where, "input_layers");
    String output = single(config.path("output_layers"), where, "output_layers");
    if (!defined.contains(input) || !defined.contains(output)) {
      throw new ModelFormatException(
          where + "/model.json: input/output layer " + input + "/" + output + " not defined");
    }
    Map<String, TfjsLayersModel.Weight> weights = readWeights(source, root, where);
    String generatedBy =
        root.path("generatedBy").asText("?") + ", " + root.path("convertedBy").asText("?");
    TfjsLayersModel model =
        new TfjsLayersModel(where, generatedBy, List.copyOf(layers), input, output, weights);
    LOG.debug(
        "Loaded {}: {} layers, {} weight tensors, {} parameters",
        where,
        layers.size(),
        weights.size(),
        model.parameterCount());
    return model;
  }

  private static String single(JsonNode arr, String where, String what) {
    if (!arr.isArray() || arr.size() != 1) {
      throw new ModelFormatException(
          where + "/model.json: expected exactly one entry in " + what + ", found " + arr);
    }
    return arr.get(0).get(0).asText();
  }

  private static Map<String, TfjsLayersModel.Weight> readWeights(
      ModelSource source, JsonNode root, String where) {
    Map<String, TfjsLayersModel.Weight> out = new LinkedHashMap<>();
    JsonNode manifest = root.path("weightsManifest");
    if (!manifest.isArray() || manifest.isEmpty()) {
      throw new ModelFormatException(where + "/model.json: no weightsManifest");
    }
    for (JsonNode group : manifest) {
      List<String> paths = new ArrayList<>();
      group.path("paths").forEach(p -> paths.add(p.asText()));
      // A group's shards are one byte stream split into files; tensors may straddle shards.
      byte[][] shards = new byte[paths.size()][];
      long available = 0;
      for (int i = 0; i < paths.size(); i++) {
        try {
          shards[i] = source.read(paths.get(i));
        } catch (IOException e) {
          throw new ModelFormatException(
              where + ": cannot read weights shard " + paths.get(i) + " (" + e + ")", e);
        }
        available += shards[i].length;
      }
      long needed = 0;
      for (JsonNode w : group.path("weights")) {
        needed += 4L * elements(w, where);
      }
      byte[] all = concat(shards, available);
      long offset = 0;
      for (JsonNode w : group.path("weights")) {
        String name = w.path("name").asText();
        String dtype = w.path("dtype").asText();
        if (!dtype.equals("float32") || w.has("quantization")) {
          throw new ModelFormatException(
              where
                  + "/model.json: tensor '"
                  + name
                  + "' has dtype "
                  + dtype
                  + (w.has("quantization") ? " (quantized)" : "")
                  + "; only unquantized float32 weights are supported");
        }
        int[] shape = shape(w);
        long count = elements(w, where);
        long bytes = 4L * count;
        if (offset + bytes > available) {
          throw new ModelFormatException(
              where
                  + ": weights shard(s) "
                  + paths
                  + " truncated: tensor '"
                  + name
                  + "' (layer "
                  + layerOf(name)
                  + ", shape "
                  + Arrays.toString(shape)
                  + ") needs bytes ["
                  + offset
                  + ", "
                  + (offset + bytes)
                  + ") but the shards hold "
                  + available
                  + " bytes; the manifest expects "
                  + needed
                  + " bytes in total");
        }
        float[] values = new float[(int) count];
        ByteBuffer.wrap(all, (int) offset, (int) bytes)
            .order(ByteOrder.LITTLE_ENDIAN)
            .asFloatBuffer()
            .get(values);
        if (out.put(name, new TfjsLayersModel.Weight(name, shape, values)) != null) {
          throw new ModelFormatException(where + "/model.json: duplicate tensor '" + name + "'");
        }
        offset += bytes;
      }
      if (offset != available) {
        throw new ModelFormatException(
            where
                + ": weights shard(s) "
                + paths
                + " hold "
                + available
                + " bytes but the manifest describes "
                + needed
                + " bytes; the shards do not belong to this model.json");
      }
    }
    return out;
  }

  private static String layerOf(String tensor) {
    int slash = tensor.lastIndexOf('/');
    return slash < 0 ? tensor : tensor.substring(0, slash);
  }

  private static byte[] concat(byte[][] shards, long total) {
    if (total > Integer.MAX_VALUE) {
      throw new ModelFormatException("weights group larger than 2 GiB is not supported");
    }
    if (shards.length == 1) {
      return shards[0];
    }
    byte[] all = new byte[(int) total];
    int pos = 0;
    for (byte[] s : shards) {
      System.arraycopy(s, 0, all, pos, s.length);
      pos += s.length;
    }
    return all;
  }

  private static int[] shape(JsonNode w) {
    JsonNode s = w.path("shape");
    int[] shape = new int[s.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = s.get(i).asInt();
    }
    return shape;
  }

  private static long elements(JsonNode w, String where) {
    long n = 1;
    for (int d : shape(w)) {
      if (d <= 0) {
        throw new ModelFormatException(
            where + "/model.json: tensor '" + w.path("name").asText() + "' has a bad shape");
      }
      n *= d;
    }
    return n;
  }
}
