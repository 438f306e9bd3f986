package dev.reelflow.upscale;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A compiled {@link SrNetwork} placed on an engine {@link Backend}: conv weights uploaded once as
 * [O, C, kh, kw] tensors, then {@link #run} evaluates the graph on a batch of equally sized tiles
 * ([N, 3, h, w], NCHW) with the backend's conv2d, relu, add, scale, copy and permute. The same code
 * runs on the OpenBLAS CPU backend and on a libtorch backend (CPU or CUDA); nothing here reads
 * device memory except the final output.
 *
 * <p>Intermediate tensors go back to a pool as soon as their last reader has run, so the live set
 * is the graph's widest cut (a few maps of the tile batch), never the whole network; tiles of one
 * frame batch mostly share a shape, so the pool saves the allocation (and the CPU backend's zero
 * fill) of nearly every map. Every operation here overwrites its whole output, so pooled tensors
 * need no clearing. {@link #releasePool} frees them. Not thread-safe.
 */
final class DeviceSrNetwork implements AutoCloseable {
  final SrNetwork graph;
  private final Backend backend;
  private final Tensor[] kernels;
  private final Tensor[] biases;
  private final Map<List<Long>, ArrayDeque<Tensor>> pool = new HashMap<>();

  DeviceSrNetwork(SrNetwork graph, Backend backend) {
    this.graph = graph;
    this.backend = backend;
    List<SrNetwork.Node> nodes = graph.nodes;
    this.kernels = new Tensor[nodes.size()];
    this.biases = new Tensor[nodes.size()];
    try {
      for (int i = 0; i < nodes.size(); i++) {
        SrNetwork.Node n = nodes.get(i);
        if (n.kind == SrNetwork.Kind.CONV) {
          int cin = nodes.get(n.inputs[0]).channels;
          kernels[i] =
              backend.fromArray(
                  oihw(n.kernelValues, n.kh, n.kw, cin, n.channels), n.channels, cin, n.kh, n.kw);
          biases[i] = backend.fromArray(n.bias, n.channels);
        }
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** TF/Keras conv kernel [kh, kw, in, out] to the backend's [out, in, kh, kw]. */
  static float[] oihw(float[] k, int kh, int kw, int cin, int cout) {
    float[] w = new float[k.length];
    for (int y = 0; y < kh; y++) {
      for (int x = 0; x < kw; x++) {
        for (int c = 0; c < cin; c++) {
          int src = ((y * kw + x) * cin + c) * cout;
          for (int o = 0; o < cout; o++) {
            w[((o * cin + c) * kh + y) * kw + x] = k[src + o];
          }
        }
      }
    }
    return w;
  }

  /**
   * Runs the network on {@code n} tiles of {@code h}×{@code w}: {@code nchw} holds [n, 3, h, w] in
   * the model's value range; returns [n, 3, h·scale, w·scale], unclamped, in the same range.
   */
  float[] run(float[] nchw, int n, int h, int w) {
    List<SrNetwork.Node> nodes = graph.nodes;
    Tensor[] values = new Tensor[nodes.size()];
    try {
      for (int i = 0; i < nodes.size(); i++) {
        SrNetwork.Node node = nodes.get(i);
        if (node.owner != i) {
          values[i] = values[node.owner];
        } else {
          values[i] =
              switch (node.kind) {
                case INPUT -> input(nchw, n, h, w);
                case CONV -> conv(i, node, values[node.inputs[0]]);
                case RELU -> relu(values[node.inputs[0]]);
                case MULTIPLY -> scale(values[node.inputs[0]], node.factor);
                case CONCAT -> concat(values, node.inputs, node.channels);
                case ADD -> add(values, node.inputs);
                case UPSAMPLE_NEAREST -> upsampleNearest(values[node.inputs[0]], node.block);
                case DEPTH_TO_SPACE -> depthToSpace(values[node.inputs[0]], node.block);
              };
        }
        for (int in : node.inputs) {
          int o = nodes.get(in).owner;
          if (nodes.get(o).lastUse == i && values[o] != null) {
            release(values[o]);
            values[o] = null;
          }
        }
      }
      return backend.toArray(values[nodes.get(nodes.size() - 1).owner]);
    } finally {
      for (int i = 0; i < values.length; i++) {
        if (values[i] != null && nodes.get(i).owner == i) {
          release(values[i]);
        }
      }
    }
  }

  private Tensor input(float[] nchw, int n, int h, int w) {
    Tensor t = acquire(n, 3, h, w);
    backend.write(t, 0, nchw, 0, nchw.length);
    return t;
  }

  /** A tensor of this shape from the pool (contents undefined), or a new one. */
  private Tensor acquire(long... shape) {
    List<Long> key = new ArrayList<>(shape.length);
    for (long d : shape) {
      key.add(d);
    }
    ArrayDeque<Tensor> free = pool.get(key);
    Tensor t = free == null ? null : free.poll();
    return t != null ? t : backend.allocate(shape);
  }

  private void release(Tensor t) {
    List<Long> key = new ArrayList<>(t.rank());
    for (long d : t.shape()) {
      key.add(d);
    }
    pool.computeIfAbsent(key, k -> new ArrayDeque<>()).push(t);
  }

  /** Frees the pooled intermediate tensors (between frame batches of a new size, and on close). */
  void releasePool() {
    for (ArrayDeque<Tensor> free : pool.values()) {
      free.forEach(Tensor::close);
    }
    pool.clear();
  }

  private Tensor like(Tensor x, long channels, long h, long w) {
    return acquire(x.dim(0), channels, h, w);
  }

  private Tensor conv(int index, SrNetwork.Node node, Tensor x) {
    Tensor out = like(x, node.channels, x.dim(2), x.dim(3));
    backend.conv2d(
        x, kernels[index], biases[index], 1, 1, (node.kh - 1) / 2, (node.kw - 1) / 2, out);
    if (node.relu) {
      backend.relu(out, out);
    }
    return out;
  }

  private Tensor relu(Tensor x) {
    Tensor out = acquire(x.shape());
    backend.relu(x, out);
    return out;
  }

  private Tensor scale(Tensor x, float factor) {
    Tensor out = acquire(x.shape());
    backend.scale(x, factor, out);
    return out;
  }

  /** Channel concatenation: in NCHW each sample's inputs are consecutive channel blocks. */
  private Tensor concat(Tensor[] values, int[] inputs, int channels) {
    Tensor first = values[inputs[0]];
    long n = first.dim(0);
    long plane = first.dim(2) * first.dim(3);
    Tensor out = like(first, channels, first.dim(2), first.dim(3));
    for (long s = 0; s < n; s++) {
      long off = 0;
      for (int i : inputs) {
        Tensor m = values[i];
        long c = m.dim(1);
        backend.copy(m, s * c * plane, out, (s * channels + off) * plane, c * plane);
        off += c;
      }
    }
    return out;
  }

  private Tensor add(Tensor[] values, int[] inputs) {
    Tensor first = values[inputs[0]];
    Tensor out = acquire(first.shape());
    backend.add(first, values[inputs[1]], out);
    for (int k = 2; k < inputs.length; k++) {
      backend.add(out, values[inputs[k]], out);
    }
    return out;
  }

  /**
   * Nearest up-sampling by s as two row gathers: every element repeated s times (columns), then
   * every row repeated s times. Only used where the up-sampling could not be folded into the
   * following conv (SrNetwork's rewrite covers the UpscalerJS models).
   */
  private Tensor upsampleNearest(Tensor x, int s) {
    long rows = x.dim(0) * x.dim(1) * x.dim(2);
    long w = x.dim(3);
    int[] cols = new int[Math.toIntExact(rows * w * s)];
    for (int i = 0; i < cols.length; i++) {
      cols[i] = i / s;
    }
    int[] rowIndex = new int[Math.toIntExact(rows * s)];
    for (int i = 0; i < rowIndex.length; i++) {
      rowIndex[i] = i / s;
    }
    Tensor out = like(x, x.dim(1), x.dim(2) * s, w * s);
    try (Tensor wide = backend.allocate(rows * w * s, 1)) {
      backend.gatherRows(x.view(rows * w, 1), cols, wide);
      backend.gatherRows(wide.view(rows, w * s), rowIndex, out.view(rows * s, w * s));
    }
    return out;
  }

  /**
   * TF depth_to_space (DCR): channel (dy·s + dx)·C' + c of pixel (y, x) goes to channel c of pixel
   * (y·s + dy, x·s + dx). In NCHW: view [N, s, s, C', H, W], permute to [N, C', H, s, W, s].
   */
  private Tensor depthToSpace(Tensor x, int s) {
    int n = (int) x.dim(0);
    int c = (int) x.dim(1) / (s * s);
    int h = (int) x.dim(2);
    int w = (int) x.dim(3);
    Tensor out = like(x, c, (long) h * s, (long) w * s);
    backend.permute(x, new int[] {n, s, s, c, h, w}, new int[] {0, 3, 4, 1, 5, 2}, out);
    return out;
  }

  @Override
  public void close() {
    releasePool();
    for (Tensor[] ts : new Tensor[][] {kernels, biases}) {
      for (int i = 0; i < ts.length; i++) {
        if (ts[i] != null) {
          ts[i].close();
          ts[i] = null;
        }
      }
    }
  }
}
