package dev.reelflow.upscale;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A single-image super-resolution network compiled from a {@link TfjsLayersModel}: the Keras layers
 * the UpscalerJS ESRGAN family uses (Conv2D, Activation relu/linear, Concatenate, Add, UpSampling2D
 * nearest, the custom MultiplyBeta and PixelShuffle{n}x depth-to-space), checked against the weight
 * shapes. The compiled graph is backend-neutral (weights in host arrays, TF layout); {@link
 * DeviceSrNetwork} places it on an engine {@code Backend} and runs it on batches of tiles.
 *
 * <p>Two rewrites keep the work at the input resolution: nearest up-sampling followed by a 3×3 conv
 * becomes one low-resolution conv plus depth-to-space, and a relu that only follows one linear conv
 * is applied in place on that conv's output.
 */
final class SrNetwork {

  enum Kind {
    INPUT,
    CONV,
    RELU,
    CONCAT,
    ADD,
    MULTIPLY,
    UPSAMPLE_NEAREST,
    DEPTH_TO_SPACE
  }

  static final class Node {
    final String name;
    final Kind kind;
    final int[] inputs;
    final int channels;
    final int scale;
    int kh;
    int kw;
    boolean relu;
    float[] kernelValues;
    float[] bias;
    float factor;
    int block;

    /** Index of the node whose tensor holds this node's value (itself unless an alias). */
    int owner;

    /** For an owner: the last node index that reads its tensor. */
    int lastUse;

    /** Distance, in input pixels, over which this node's value depends on the input. */
    double radius;

    Node(String name, Kind kind, int[] inputs, int channels, int scale) {
      this.name = name;
      this.kind = kind;
      this.inputs = inputs;
      this.channels = channels;
      this.scale = scale;
    }
  }

  final String name;
  final List<Node> nodes;
  final int scale;
  final float inputRange;
  final long parameters;
  final double flopsPerInputPixel;

  private SrNetwork(String name, List<Node> nodes, float inputRange, long parameters) {
    this.name = name;
    this.nodes = nodes;
    this.inputRange = inputRange;
    this.parameters = parameters;
    Node out = nodes.get(nodes.size() - 1);
    this.scale = out.scale;
    double flops = 0;
    for (Node n : nodes) {
      if (n.kind == Kind.CONV) {
        int cin = nodes.get(n.inputs[0]).channels;
        flops += 2.0 * n.kh * n.kw * cin * n.channels * n.scale * n.scale;
      }
    }
    this.flopsPerInputPixel = flops;
  }

  /** Receptive-field radius of the output, in input pixels (rounded up). */
  int receptiveRadius() {
    return (int) Math.ceil(nodes.get(nodes.size() - 1).radius);
  }

  /**
   * Compiles the topology. {@code inputRange} is the value range the model was trained on (255 for
   * esrgan-slim/medium, 1 for esrgan-thick); images are always [0, 255] outside.
   */
  static SrNetwork compile(TfjsLayersModel model, float inputRange) {
    String where = model.source();
    Map<String, Integer> index = new HashMap<>();
    List<Node> nodes = new ArrayList<>();
    Set<String> usedWeights = new HashSet<>();
    for (TfjsLayersModel.Layer layer : model.layers()) {
      int[] in = new int[layer.inbound().size()];
      for (int i = 0; i < in.length; i++) {
        in[i] = index.get(layer.inbound().get(i));
      }
      JsonNode cfg = layer.config();
      String cls = layer.className();
      Node node;
      if (cls.equals("InputLayer")) {
        JsonNode shape = cfg.path("batch_input_shape");
        int c = shape.size() == 4 ? shape.get(3).asInt(3) : 3;
        if (c != 3) {
          throw new ModelFormatException(
              where + ": input '" + layer.name() + "' has " + c + " channels, expected RGB (3)");
        }
        node = new Node(layer.name(), Kind.INPUT, in, 3, 1);
      } else {
        requireInputs(where, layer, in.length, cls.equals("Concatenate") || cls.equals("Add"));
        Node first = nodes.get(in[0]);
        switch (cls) {
          case "Conv2D" -> node = conv(model, layer, first, in, usedWeights);
          case "Activation" -> {
            String act = cfg.path("activation").asText();
            if (act.equals("linear")) {
              node = new Node(layer.name(), Kind.MULTIPLY, in, first.channels, first.scale);
              node.factor = 1f;
            } else if (act.equals("relu")) {
              node = new Node(layer.name(), Kind.RELU, in, first.channels, first.scale);
            } else {
              throw unsupported(where, layer, "activation '" + act + "'");
            }
          }
          case "Concatenate" -> {
            int axis = cfg.path("axis").asInt(-1);
            if (axis != -1 && axis != 3) {
              throw unsupported(where, layer, "concatenation on axis " + axis);
            }
            int c = 0;
            for (int i : in) {
              c += nodes.get(i).channels;
              sameScale(where, layer, first, nodes.get(i));
            }
            node = new Node(layer.name(), Kind.CONCAT, in, c, first.scale);
          }
          case "Add" -> {
            for (int i : in) {
              sameScale(where, layer, first, nodes.get(i));
              if (nodes.get(i).channels != first.channels) {
                throw new ModelFormatException(
                    where
                        + ": Add '"
                        + layer.name()
                        + "' mixes "
                        + first.channels
                        + " and "
                        + nodes.get(i).channels
                        + " channels");
              }
            }
            node = new Node(layer.name(), Kind.ADD, in, first.channels, first.scale);
          }
          case "MultiplyBeta" -> {
            // esrgan-thick's residual scaling layer: x * 0.2 (UpscalerJS registers it in JS).
            node = new Node(layer.name(), Kind.MULTIPLY, in, first.channels, first.scale);
            node.factor = 0.2f;
          }
          case "UpSampling2D" -> {
            JsonNode size = cfg.path("size");
            int s = size.get(0).asInt();
            String interp = cfg.path("interpolation").asText("nearest");
            if (size.get(1).asInt() != s || !interp.equals("nearest")) {
              throw unsupported(where, layer, "up-sampling " + size + " " + interp);
            }
            node =
                new Node(layer.name(), Kind.UPSAMPLE_NEAREST, in, first.channels, first.scale * s);
            node.block = s;
          }
          default -> {
            if (cls.matches("PixelShuffle[0-9]+x")) {
              int s = Integer.parseInt(cls.substring("PixelShuffle".length(), cls.length() - 1));
              if (first.channels % (s * s) != 0) {
                throw new ModelFormatException(
                    where
                        + ": "
                        + cls
                        + " '"
                        + layer.name()
                        + "' gets "
                        + first.channels
                        + " channels, not a multiple of "
                        + s * s);
              }
              node =
                  new Node(
                      layer.name(),
                      Kind.DEPTH_TO_SPACE,
                      in,
                      first.channels / (s * s),
                      first.scale * s);
              node.block = s;
            } else {
              throw unsupported(where, layer, "layer class " + cls);
            }
          }
        }
        node.radius = 0;
        for (int i : in) {
          node.radius = Math.max(node.radius, nodes.get(i).radius);
        }
        if (node.kind == Kind.CONV) {
          node.radius += (double) ((Math.max(node.kh, node.kw) - 1) / 2) / node.scale;
        }
      }
      index.put(layer.name(), nodes.size());
      nodes.add(node);
    }
    if (!model.layers().get(0).name().equals(model.inputLayer())) {
      throw new ModelFormatException(where + ": the input layer must come first");
    }
    int outIndex = index.get(model.outputLayer());
    if (outIndex != nodes.size() - 1) {
      throw new ModelFormatException(
          where + ": the output layer '" + model.outputLayer() + "' must be the last layer");
    }
    Node out = nodes.get(outIndex);
    if (out.channels != 3) {
      throw new ModelFormatException(
          where + ": output has " + out.channels + " channels, expected RGB (3)");
    }
    Set<String> unused = new HashSet<>(model.weights().keySet());
    unused.removeAll(usedWeights);
    if (!unused.isEmpty()) {
      throw new ModelFormatException(
          where
              + ": weights "
              + unused
              + " are not used by any layer of the topology; model.json and shards do not match");
    }
    fuseUpsampleConvs(nodes);
    fuseRelus(nodes);
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      n.owner = isAlias(n) ? nodes.get(n.inputs[0]).owner : i;
      for (int in : n.inputs) {
        Node o = nodes.get(nodes.get(in).owner);
        o.lastUse = Math.max(o.lastUse, i);
      }
    }
    nodes.get(nodes.get(nodes.size() - 1).owner).lastUse = Integer.MAX_VALUE;
    return new SrNetwork(where, List.copyOf(nodes), inputRange, model.parameterCount());
  }

  private static Node conv(
      TfjsLayersModel model,
      TfjsLayersModel.Layer layer,
      Node input,
      int[] in,
      Set<String> usedWeights) {
    String where = model.source();
    JsonNode cfg = layer.config();
    int filters = cfg.path("filters").asInt();
    int kh = cfg.path("kernel_size").get(0).asInt();
    int kw = cfg.path("kernel_size").get(1).asInt();
    String padding = cfg.path("padding").asText();
    for (String key : new String[] {"strides", "dilation_rate"}) {
      JsonNode v = cfg.path(key);
      if (!v.isMissingNode() && (v.get(0).asInt() != 1 || v.get(1).asInt() != 1)) {
        throw unsupported(where, layer, key + " " + v);
      }
    }
    if (!cfg.path("data_format").asText("channels_last").equals("channels_last")) {
      throw unsupported(where, layer, "data_format " + cfg.path("data_format").asText());
    }
    if (kh % 2 == 0 || kw % 2 == 0) {
      throw unsupported(where, layer, "even kernel " + kh + "x" + kw);
    }
    if (!padding.equals("same") && !(padding.equals("valid") && kh == 1 && kw == 1)) {
      throw unsupported(
          where, layer, "padding '" + padding + "' with a " + kh + "x" + kw + " kernel");
    }
    String act = cfg.path("activation").asText("linear");
    if (!act.equals("linear") && !act.equals("relu")) {
      throw unsupported(where, layer, "activation '" + act + "'");
    }
    TfjsLayersModel.Weight kernel = weight(model, layer.name() + "/kernel");
    int[] expect = {kh, kw, input.channels, filters};
    if (!Arrays.equals(kernel.shape(), expect)) {
      throw new ModelFormatException(
          where
              + ": Conv2D '"
              + layer.name()
              + "' kernel has shape "
              + Arrays.toString(kernel.shape())
              + ", the topology needs "
              + Arrays.toString(expect));
    }
    usedWeights.add(kernel.name());
    float[] bias = new float[filters];
    if (cfg.path("use_bias").asBoolean(true)) {
      TfjsLayersModel.Weight b = weight(model, layer.name() + "/bias");
      if (!Arrays.equals(b.shape(), new int[] {filters})) {
        throw new ModelFormatException(
            where
                + ": Conv2D '"
                + layer.name()
                + "' bias has shape "
                + Arrays.toString(b.shape())
                + ", expected ["
                + filters
                + "]");
      }
      usedWeights.add(b.name());
      bias = b.values();
    }
    Node node = new Node(layer.name(), Kind.CONV, in, filters, input.scale);
    node.kh = kh;
    node.kw = kw;
    node.relu = act.equals("relu");
    node.kernelValues = kernel.values();
    node.bias = bias;
    return node;
  }

  private static TfjsLayersModel.Weight weight(TfjsLayersModel model, String name) {
    TfjsLayersModel.Weight w = model.weights().get(name);
    if (w == null) {
      throw new ModelFormatException(
          model.source()
              + ": weights manifest lacks tensor '"
              + name
              + "' needed by layer '"
              + name.substring(0, name.lastIndexOf('/'))
              + "'");
    }
    return w;
  }

  /**
   * Nearest up-sampling by s followed by a 3×3 "same" conv equals, for each of the s² output
   * phases, a 3×3 conv at the low resolution with taps summed by the low-resolution pixel they
   * read; stacked phase-major that is one LR conv with s²·out channels followed by depth-to-space.
   * Same arithmetic, but the s²-times larger up-sampled map is never built (x8: 1.8 GB a frame).
   */
  private static void fuseUpsampleConvs(List<Node> nodes) {
    int[] uses = new int[nodes.size()];
    for (Node n : nodes) {
      for (int i : n.inputs) {
        uses[i]++;
      }
    }
    for (int i = 0; i < nodes.size(); i++) {
      Node up = nodes.get(i);
      if (up.kind != Kind.UPSAMPLE_NEAREST || uses[i] != 1) {
        continue;
      }
      int j = -1;
      for (int k = i + 1; k < nodes.size() && j < 0; k++) {
        for (int in : nodes.get(k).inputs) {
          if (in == i) {
            j = k;
          }
        }
      }
      Node conv = nodes.get(j);
      if (conv.kind != Kind.CONV || conv.kh != 3 || conv.kw != 3 || conv.inputs.length != 1) {
        continue;
      }
      int s = up.block;
      int cin = up.channels;
      int co = conv.channels;
      int cout = co * s * s;
      float[] w = conv.kernelValues;
      float[] k = new float[3 * 3 * cin * cout];
      for (int py = 0; py < s; py++) {
        for (int px = 0; px < s; px++) {
          int phase = py * s + px;
          for (int dy = 0; dy < 3; dy++) {
            int ly = Math.floorDiv(py + dy - 1, s) + 1;
            for (int dx = 0; dx < 3; dx++) {
              int lx = Math.floorDiv(px + dx - 1, s) + 1;
              for (int c = 0; c < cin; c++) {
                int src = ((dy * 3 + dx) * cin + c) * co;
                int dst = ((ly * 3 + lx) * cin + c) * cout + phase * co;
                for (int o = 0; o < co; o++) {
                  k[dst + o] += w[src + o];
                }
              }
            }
          }
        }
      }
      float[] bias = new float[cout];
      for (int p = 0; p < s * s; p++) {
        System.arraycopy(conv.bias, 0, bias, p * co, co);
      }
      Node lr =
          new Node(conv.name + "@lr", Kind.CONV, up.inputs, cout, nodes.get(up.inputs[0]).scale);
      lr.kh = 3;
      lr.kw = 3;
      lr.relu = conv.relu;
      lr.kernelValues = k;
      lr.bias = bias;
      lr.radius = conv.radius;
      Node d2s = new Node(conv.name, Kind.DEPTH_TO_SPACE, new int[] {i}, co, conv.scale);
      d2s.block = s;
      d2s.radius = conv.radius;
      nodes.set(i, lr);
      nodes.set(j, d2s);
    }
  }

  /** A relu whose only input is a linear conv used nowhere else becomes that conv's epilogue. */
  private static void fuseRelus(List<Node> nodes) {
    int[] uses = new int[nodes.size()];
    for (Node n : nodes) {
      for (int i : n.inputs) {
        uses[i]++;
      }
    }
    for (int i = 0; i < nodes.size(); i++) {
      Node n = nodes.get(i);
      if (n.kind == Kind.RELU) {
        Node src = nodes.get(n.inputs[0]);
        if (src.kind == Kind.CONV && !src.relu && uses[n.inputs[0]] == 1) {
          src.relu = true;
          // the relu node now just forwards the conv's map
          Node alias = new Node(n.name, Kind.MULTIPLY, n.inputs, n.channels, n.scale);
          alias.factor = Float.NaN;
          alias.radius = n.radius;
          nodes.set(i, alias);
        }
      }
    }
  }

  private static boolean isAlias(Node n) {
    return n.kind == Kind.MULTIPLY && (Float.isNaN(n.factor) || n.factor == 1f);
  }

  private static void requireInputs(
      String where, TfjsLayersModel.Layer layer, int n, boolean many) {
    if (n == 0 || (!many && n != 1) || (many && n < 2)) {
      throw new ModelFormatException(
          where
              + ": layer '"
              + layer.name()
              + "' ("
              + layer.className()
              + ") has "
              + n
              + " inputs");
    }
  }

  private static void sameScale(String where, TfjsLayersModel.Layer layer, Node a, Node b) {
    if (a.scale != b.scale) {
      throw new ModelFormatException(
          where + ": layer '" + layer.name() + "' joins maps of different resolution");
    }
  }

  private static ModelFormatException unsupported(
      String where, TfjsLayersModel.Layer layer, String what) {
    return new ModelFormatException(
        where
            + ": layer '"
            + layer.name()
            + "' uses "
            + what
            + ", which this engine does not implement");
  }
}
