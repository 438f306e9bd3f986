package dev.reelflow.upscale;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;

/**
 * Per-thread scratch for running an {@link SrNetwork} on tiles: a pool of native buffers reused
 * across layers and tiles, the GEMM scratch, and the element-wise kernels. Not thread-safe; one per
 * tile worker. Close it to free the native memory.
 */
final class Workspace implements AutoCloseable {

  enum Op {
    RELU,
    SCALE,
    UPSAMPLE
  }

  private static final class Slot {
    final FloatPointer data;
    final long capacity;
    boolean busy;

    Slot(long capacity) {
      this.data = new FloatPointer(capacity);
      this.capacity = capacity;
    }
  }

  private Gemm gemm;
  private final List<Slot> slots = new ArrayList<>();
  private FloatPointer scratch;
  private long scratchCapacity;
  private float[] rowA = new float[0];
  private float[] rowB = new float[0];

  Workspace(Gemm gemm) {
    this.gemm = gemm;
  }

  /** The GEMM for the next tiles (a multi-threaded one when a frame is a single tile). */
  void useGemm(Gemm gemm) {
    this.gemm = gemm;
  }

  FeatureMap acquire(int h, int w, int c, int pad) {
    long need = FeatureMap.floatsNeeded(h, w, c, pad);
    Slot best = null;
    for (Slot s : slots) {
      if (!s.busy && s.capacity >= need && (best == null || s.capacity < best.capacity)) {
        best = s;
      }
    }
    if (best == null) {
      best = new Slot(need);
      slots.add(best);
    }
    best.busy = true;
    return FeatureMap.over(best.data, best.capacity, h, w, c, pad);
  }

  void release(FeatureMap m) {
    for (Slot s : slots) {
      if (s.data == m.data) {
        s.busy = false;
        return;
      }
    }
  }

  void releaseAll() {
    for (Slot s : slots) {
      s.busy = false;
    }
  }

  private float[] rowA(int n) {
    if (rowA.length < n) {
      rowA = new float[n];
    }
    return rowA;
  }

  private float[] rowB(int n) {
    if (rowB.length < n) {
      rowB = new float[n];
    }
    return rowB;
  }

  /** k×k "same" conv as k² shifted GEMMs over the padded input rows, then bias (+relu). */
  FeatureMap conv(SrNetwork.Node n, FeatureMap in, int pad) {
    int h = in.height;
    int w = in.width;
    int wp = in.paddedWidth;
    int cin = in.channels;
    int cout = n.channels;
    int m = h * wp;
    long need = (long) m * cout;
    if (scratchCapacity < need) {
      if (scratch != null) {
        scratch.close();
      }
      scratch = new FloatPointer(need);
      scratchCapacity = need;
    }
    int ph = (n.kh - 1) / 2;
    int pw = (n.kw - 1) / 2;
    int tap = 0;
    for (int dy = 0; dy < n.kh; dy++) {
      for (int dx = 0; dx < n.kw; dx++) {
        long aOff = ((long) (dy - ph + pad) * wp + (dx - pw + pad)) * cin;
        long bOff = (long) tap * cin * cout;
        gemm.sgemm(
            m,
            cout,
            cin,
            in.data,
            aOff,
            cin,
            n.kernel,
            bOff,
            cout,
            tap == 0 ? 0f : 1f,
            scratch,
            0,
            cout);
        tap++;
      }
    }
    FeatureMap out = acquire(h, w, cout, pad);
    java.nio.FloatBuffer s = scratch.asBuffer();
    int len = w * cout;
    float[] row = rowA(len);
    float[] bias = n.bias;
    boolean relu = n.relu;
    for (int y = 0; y < h; y++) {
      s.get((int) ((long) y * wp * cout), row, 0, len);
      for (int x = 0, j = 0; x < w; x++) {
        for (int c = 0; c < cout; c++, j++) {
          float v = row[j] + bias[c];
          row[j] = relu && v < 0f ? 0f : v;
        }
      }
      out.putRow(y, 0, row, len);
    }
    return out;
  }

  FeatureMap map(FeatureMap in, int channels, int block, int pad, Op op, float factor) {
    int h = in.height;
    int w = in.width;
    int c = in.channels;
    FeatureMap out = acquire(h * block, w * block, channels, pad);
    int len = w * c;
    float[] row = rowA(len);
    if (op == Op.UPSAMPLE) {
      float[] wide = rowB(len * block);
      for (int y = 0; y < h; y++) {
        in.getRow(y, 0, row, len);
        for (int x = 0; x < w; x++) {
          for (int b = 0; b < block; b++) {
            System.arraycopy(row, x * c, wide, (x * block + b) * c, c);
          }
        }
        for (int b = 0; b < block; b++) {
          out.putRow(y * block + b, 0, wide, len * block);
        }
      }
      return out;
    }
    for (int y = 0; y < h; y++) {
      in.getRow(y, 0, row, len);
      if (op == Op.RELU) {
        for (int j = 0; j < len; j++) {
          row[j] = row[j] < 0f ? 0f : row[j];
        }
      } else {
        for (int j = 0; j < len; j++) {
          row[j] *= factor;
        }
      }
      out.putRow(y, 0, row, len);
    }
    return out;
  }

  FeatureMap concat(FeatureMap[] maps, int[] inputs, int channels, int pad) {
    FeatureMap first = maps[inputs[0]];
    int h = first.height;
    int w = first.width;
    FeatureMap out = acquire(h, w, channels, pad);
    float[] dst = rowA(w * channels);
    int maxIn = 0;
    for (int i : inputs) {
      maxIn = Math.max(maxIn, maps[i].channels);
    }
    float[] src = rowB(w * maxIn);
    for (int y = 0; y < h; y++) {
      int off = 0;
      for (int i : inputs) {
        FeatureMap m = maps[i];
        int c = m.channels;
        m.getRow(y, 0, src, w * c);
        for (int x = 0; x < w; x++) {
          System.arraycopy(src, x * c, dst, x * channels + off, c);
        }
        off += c;
      }
      out.putRow(y, 0, dst, w * channels);
    }
    return out;
  }

  FeatureMap add(FeatureMap[] maps, int[] inputs, int pad) {
    FeatureMap first = maps[inputs[0]];
    int h = first.height;
    int w = first.width;
    int c = first.channels;
    FeatureMap out = acquire(h, w, c, pad);
    int len = w * c;
    float[] acc = rowA(len);
    float[] src = rowB(len);
    for (int y = 0; y < h; y++) {
      first.getRow(y, 0, acc, len);
      for (int k = 1; k < inputs.length; k++) {
        maps[inputs[k]].getRow(y, 0, src, len);
        for (int j = 0; j < len; j++) {
          acc[j] += src[j];
        }
      }
      out.putRow(y, 0, acc, len);
    }
    return out;
  }

  /** TF depth_to_space, NHWC/DCR: out[y·s+dy, x·s+dx, c] = in[y, x, (dy·s+dx)·C' + c]. */
  FeatureMap depthToSpace(FeatureMap in, int s, int pad) {
    int h = in.height;
    int w = in.width;
    int c = in.channels / (s * s);
    FeatureMap out = acquire(h * s, w * s, c, pad);
    float[] row = rowA(w * in.channels);
    float[] dst = rowB(w * s * c);
    for (int y = 0; y < h; y++) {
      in.getRow(y, 0, row, w * in.channels);
      for (int dy = 0; dy < s; dy++) {
        for (int x = 0; x < w; x++) {
          for (int dx = 0; dx < s; dx++) {
            System.arraycopy(row, x * in.channels + (dy * s + dx) * c, dst, (x * s + dx) * c, c);
          }
        }
        out.putRow(y * s + dy, 0, dst, w * s * c);
      }
    }
    return out;
  }

  @Override
  public void close() {
    for (Slot s : slots) {
      s.data.close();
    }
    slots.clear();
    if (scratch != null) {
      scratch.close();
      scratch = null;
    }
  }
}
