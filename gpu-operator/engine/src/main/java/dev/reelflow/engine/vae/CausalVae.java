package dev.reelflow.engine.vae;

import static dev.reelflow.engine.vae.CausalBlocks.conv;
import static dev.reelflow.engine.vae.CausalBlocks.norm;

import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.backend.Tensor;
import dev.reelflow.engine.weights.ParamSpec;
import dev.reelflow.engine.weights.WeightSet;
import java.util.ArrayList;
import java.util.List;

/**
 * The causal 3D convolutional VAE: encoder (pixels to 32-channel latents, for image-to-video
 * conditioning) and decoder (latents to RGB), with the reference's building blocks: causal
 * convolutions (time padded by k-1 replicated frames in front, h/w replicate-padded), channel RMS
 * norms, swish, resnet blocks, a frame-causal mid attention, and pixel-shuffle style up/down
 * sampling with channel repeat/average shortcuts where the first frame is not resampled in time.
 * Parameter names follow the official checkpoint (decoder.up.0.block.0.conv1.conv.weight, ...).
 *
 * <p>Activations are one sample, channel-first: [C, T, H, W].
 */
public final class CausalVae {
  private final VaeConfig cfg;
  private final WeightSet w;
  private final Backend be;
  private final CausalBlocks blocks;

  public CausalVae(VaeConfig cfg, WeightSet weights, Backend backend) {
    this.cfg = cfg;
    this.w = weights;
    this.be = backend;
    this.blocks = new CausalBlocks(weights, backend);
  }

  public VaeConfig config() {
    return cfg;
  }

  // ------------------------------------------------------------------ parameters

  private static void mid(List<ParamSpec> p, String b, int c) {
    CausalBlocks.resnet(p, b + ".block_1", c, c);
    norm(p, b + ".attn_1.norm", c);
    for (String s : new String[] {"q", "k", "v", "proj_out"}) {
      conv(p, b + ".attn_1." + s, c, c, 1);
    }
    CausalBlocks.resnet(p, b + ".block_2", c, c);
  }

  /** Decoder parameters ("decoder." prefix). */
  public static List<ParamSpec> decoderParams(VaeConfig c) {
    List<ParamSpec> p = new ArrayList<>();
    int[] bo = c.decoderWidths();
    int in = bo[0];
    conv(p, "decoder.conv_in.conv", in, c.latentChannels(), 3);
    mid(p, "decoder.mid", in);
    for (int i = 0; i < bo.length; i++) {
      int out = bo[i];
      for (int j = 0; j < c.layersPerBlock() + 1; j++) {
        CausalBlocks.resnet(p, "decoder.up." + i + ".block." + j, in, out);
        in = out;
      }
      if (c.decoderUpsamples(i)) {
        int next = c.upsampleMatchChannel() ? bo[i + 1] : in;
        int factor = c.decoderUpsamplesInTime(i) ? 8 : 4;
        conv(p, "decoder.up." + i + ".upsample.conv.conv", next * factor, in, 3);
        in = next;
      }
    }
    norm(p, "decoder.norm_out", in);
    conv(p, "decoder.conv_out.conv", c.outChannels(), in, 3);
    return p;
  }

  /** Encoder parameters ("encoder." prefix). */
  public static List<ParamSpec> encoderParams(VaeConfig c) {
    List<ParamSpec> p = new ArrayList<>();
    int[] bo = c.blockOut();
    int in = bo[0];
    conv(p, "encoder.conv_in.conv", in, c.inChannels(), 3);
    for (int i = 0; i < bo.length; i++) {
      int out = bo[i];
      for (int j = 0; j < c.layersPerBlock(); j++) {
        CausalBlocks.resnet(p, "encoder.down." + i + ".block." + j, in, out);
        in = out;
      }
      if (c.encoderDownsamples(i)) {
        int next = c.downsampleMatchChannel() ? bo[i + 1] : in;
        int factor = c.encoderDownsamplesInTime(i) ? 8 : 4;
        conv(p, "encoder.down." + i + ".downsample.conv.conv", next / factor, in, 3);
        in = next;
      }
    }
    mid(p, "encoder.mid", in);
    norm(p, "encoder.norm_out", in);
    conv(p, "encoder.conv_out.conv", 2 * c.latentChannels(), in, 3);
    return p;
  }

  /** Encoder and decoder parameters. */
  public static List<ParamSpec> params(VaeConfig c) {
    List<ParamSpec> p = new ArrayList<>(encoderParams(c));
    p.addAll(decoderParams(c));
    return p;
  }

  // ------------------------------------------------------------------ layers

  private static long[] shape(Tensor x) {
    return x.shape();
  }

  /** CausalConv3d: replicate pad (time k-1 in front, h/w k/2), then a valid convolution. */
  public Tensor causalConv(Tensor x, String name) {
    return blocks.causalConv(x, name);
  }

  private Tensor normSwish(Tensor x, String name) {
    return blocks.normSwish(x, name);
  }

  Tensor resnet(Tensor x, String b) {
    return blocks.resnet(x, b);
  }

  /** Mid attention: single head over all tokens, each frame attending to frames up to its own. */
  Tensor attention(Tensor x, String b) {
    int c = (int) x.dim(0);
    int f = (int) x.dim(1);
    int hw = (int) (x.dim(2) * x.dim(3));
    int n = f * hw;
    try (Tensor norm = be.allocate(shape(x));
        Tensor tokens = be.allocate(n, c);
        Tensor q = be.allocate(n, c);
        Tensor k = be.allocate(n, c);
        Tensor v = be.allocate(n, c);
        Tensor o = be.allocate(n, c);
        Tensor p = be.allocate(n, c)) {
      be.channelRmsNorm(x, w.get(b + ".norm.gamma"), 1e-12f, norm);
      be.permute(norm, new int[] {c, n}, new int[] {1, 0}, tokens);
      be.linear(tokens, w.get(b + ".q.weight").view(c, c), w.get(b + ".q.bias"), q);
      be.linear(tokens, w.get(b + ".k.weight").view(c, c), w.get(b + ".k.bias"), k);
      be.linear(tokens, w.get(b + ".v.weight").view(c, c), w.get(b + ".v.bias"), v);
      float scale = (float) (1.0 / Math.sqrt(c));
      for (int fr = 0; fr < f; fr++) {
        int keys = (fr + 1) * hw;
        be.attention(
            q.slice((long) fr * hw * c, hw, c),
            k.slice(0, keys, c),
            v.slice(0, keys, c),
            o.slice((long) fr * hw * c, hw, c),
            1,
            c,
            scale);
      }
      be.linear(o, w.get(b + ".proj_out.weight").view(c, c), w.get(b + ".proj_out.bias"), p);
      Tensor out = be.allocate(shape(x));
      be.permute(p, new int[] {n, c}, new int[] {1, 0}, out);
      be.add(out, x, out);
      return out;
    }
  }

  /** Copies frames [t0, t0 + count) of x [C, T, H, W] into dst [C, T', H, W] at frame dstT0. */
  private void copyFrames(Tensor x, int t0, int count, Tensor dst, int dstT0) {
    int c = (int) x.dim(0);
    long plane = x.dim(2) * x.dim(3);
    long t = x.dim(1);
    long dt = dst.dim(1);
    for (int ch = 0; ch < c; ch++) {
      be.copy(x, (ch * t + t0) * plane, dst, (ch * dt + dstT0) * plane, count * plane);
    }
  }

  private Tensor frames(Tensor x, int t0, int count) {
    Tensor out = be.allocate(x.dim(0), count, x.dim(2), x.dim(3));
    copyFrames(x, t0, count, out, 0);
    return out;
  }

  private Tensor repeatChannels(Tensor x, int r) {
    return blocks.repeatChannels(x, r);
  }

  /** "(r1 r2 r3 c) f h w -> c (f r1) (h r2) (w r3)". */
  private Tensor depthToSpace(Tensor x, int r1) {
    int ch = (int) x.dim(0) / (r1 * 4);
    int f = (int) x.dim(1);
    int h = (int) x.dim(2);
    int wd = (int) x.dim(3);
    Tensor out = be.allocate(ch, (long) f * r1, 2L * h, 2L * wd);
    be.permute(x, new int[] {r1, 2, 2, ch, f, h, wd}, new int[] {3, 4, 0, 5, 1, 6, 2}, out);
    return out;
  }

  /** "c (f r1) (h r2) (w r3) -> (r1 r2 r3 c) f h w". */
  private Tensor spaceToDepth(Tensor x, int r1) {
    int ch = (int) x.dim(0);
    int f = (int) x.dim(1) / r1;
    int h = (int) x.dim(2) / 2;
    int wd = (int) x.dim(3) / 2;
    Tensor out = be.allocate((long) ch * r1 * 4, f, h, wd);
    be.permute(x, new int[] {ch, f, r1, h, 2, wd, 2}, new int[] {2, 4, 6, 0, 1, 3, 5}, out);
    return out;
  }

  /** Upsample: conv to out*factor channels, pixel shuffle, plus the channel-repeat shortcut. */
  public Tensor upsample(Tensor x, String name, boolean temporal) {
    int in = (int) x.dim(0);
    int t = (int) x.dim(1);
    try (Tensor h = causalConv(x, name + ".conv.conv")) {
      int factor = temporal ? 8 : 4;
      int out = (int) h.dim(0) / factor;
      int repeats = factor * out / in;
      if (!temporal) {
        try (Tensor hs = depthToSpace(h, 1);
            Tensor rep = repeatChannels(x, repeats);
            Tensor sc = depthToSpace(rep, 1)) {
          be.add(hs, sc, hs);
          Tensor res = be.allocate(shape(hs));
          be.copy(hs, 0, res, 0, hs.size());
          return res;
        }
      }
      int frames = 1 + 2 * (t - 1);
      Tensor result = be.allocate(out, frames, 2 * x.dim(2), 2 * x.dim(3));
      // first frame: spatial shuffle only, keep the first half of the channels
      try (Tensor hf = frames(h, 0, 1);
          Tensor hfs = depthToSpace(hf, 1);
          Tensor xf = frames(x, 0, 1);
          Tensor xfs = depthToSpace(xf, 1);
          Tensor xfr = repeatChannels(xfs, repeats / 2)) {
        // hfs has 2*out channels; channels [0, out) are kept
        Tensor keep = hfs.slice(0, out, 1, hfs.dim(2), hfs.dim(3));
        be.add(keep, xfr, keep);
        copyFrames(keep, 0, 1, result, 0);
      }
      if (t > 1) {
        try (Tensor hn = frames(h, 1, t - 1);
            Tensor hns = depthToSpace(hn, 2);
            Tensor xn = frames(x, 1, t - 1);
            Tensor xnr = repeatChannels(xn, repeats);
            Tensor xns = depthToSpace(xnr, 2)) {
          be.add(hns, xns, hns);
          copyFrames(hns, 0, 2 * (t - 1), result, 1);
        }
      }
      return result;
    }
  }

  /** Downsample: conv to out/factor channels, space-to-depth, plus the channel-mean shortcut. */
  Tensor downsample(Tensor x, String name, boolean temporal) {
    int in = (int) x.dim(0);
    int t = (int) x.dim(1);
    try (Tensor h = causalConv(x, name + ".conv.conv")) {
      int factor = temporal ? 8 : 4;
      int out = (int) h.dim(0) * factor;
      int group = factor * in / out;
      if (!temporal) {
        try (Tensor hs = spaceToDepth(h, 1);
            Tensor xs = spaceToDepth(x, 1)) {
          Tensor res = be.allocate(shape(hs));
          be.groupMeanRows(
              xs.view(xs.dim(0), xs.size() / xs.dim(0)), group, res.view(out, res.size() / out));
          be.add(res, hs, res);
          return res;
        }
      }
      int frames = 1 + (t - 1) / 2;
      long ho = x.dim(2) / 2;
      long wo = x.dim(3) / 2;
      Tensor result = be.allocate(out, frames, ho, wo);
      try (Tensor hf = frames(h, 0, 1);
          Tensor hfs = spaceToDepth(hf, 1);
          Tensor xf = frames(x, 0, 1);
          Tensor xfs = spaceToDepth(xf, 1);
          Tensor first = be.allocate(out, 1, ho, wo)) {
        // h_first duplicated along channels, shortcut averaged in groups of group/2
        long half = hfs.size();
        be.copy(hfs, 0, first, 0, half);
        be.copy(hfs, 0, first, half, half);
        try (Tensor sc = be.allocate(out, 1, ho, wo)) {
          be.groupMeanRows(xfs.view(xfs.dim(0), ho * wo), group / 2, sc.view(out, ho * wo));
          be.add(first, sc, first);
        }
        copyFrames(first, 0, 1, result, 0);
      }
      if (t > 1) {
        try (Tensor hn = frames(h, 1, t - 1);
            Tensor hns = spaceToDepth(hn, 2);
            Tensor xn = frames(x, 1, t - 1);
            Tensor xns = spaceToDepth(xn, 2);
            Tensor sc = be.allocate(shape(hns))) {
          long plane = (long) (frames - 1) * ho * wo;
          be.groupMeanRows(xns.view(xns.dim(0), plane), group, sc.view(out, plane));
          be.add(hns, sc, hns);
          copyFrames(hns, 0, frames - 1, result, 1);
        }
      }
      return result;
    }
  }

  // ------------------------------------------------------------------ decoder / encoder

  /**
   * Decodes latents [32, T, h, w] (already divided by the scaling factor) to pixels [3, (T-1)*4+1,
   * 16h, 16w] in [-1, 1] (not clamped).
   */
  public Tensor decode(Tensor z) {
    int[] bo = cfg.decoderWidths();
    int zc = cfg.latentChannels();
    Tensor h = causalConv(z, "decoder.conv_in.conv");
    try (Tensor rep = repeatChannels(z, bo[0] / zc)) {
      be.add(h, rep, h);
    }
    h = replace(h, resnet(h, "decoder.mid.block_1"));
    h = replace(h, attention(h, "decoder.mid.attn_1"));
    h = replace(h, resnet(h, "decoder.mid.block_2"));
    for (int i = 0; i < bo.length; i++) {
      for (int j = 0; j < cfg.layersPerBlock() + 1; j++) {
        h = replace(h, resnet(h, "decoder.up." + i + ".block." + j));
      }
      if (cfg.decoderUpsamples(i)) {
        h = replace(h, upsample(h, "decoder.up." + i + ".upsample", cfg.decoderUpsamplesInTime(i)));
      }
    }
    try (Tensor n = normSwish(h, "decoder.norm_out")) {
      h.close();
      return causalConv(n, "decoder.conv_out.conv");
    }
  }

  /**
   * Encodes pixels [3, F, H, W] in [-1, 1] (F = 4k+1, H and W multiples of 16) to the latent
   * distribution's mean [32, (F-1)/4+1, H/16, W/16] (not yet multiplied by the scaling factor).
   */
  public Tensor encode(Tensor x) {
    int[] bo = cfg.blockOut();
    Tensor h = causalConv(x, "encoder.conv_in.conv");
    for (int i = 0; i < bo.length; i++) {
      for (int j = 0; j < cfg.layersPerBlock(); j++) {
        h = replace(h, resnet(h, "encoder.down." + i + ".block." + j));
      }
      if (cfg.encoderDownsamples(i)) {
        h =
            replace(
                h,
                downsample(
                    h, "encoder.down." + i + ".downsample", cfg.encoderDownsamplesInTime(i)));
      }
    }
    h = replace(h, resnet(h, "encoder.mid.block_1"));
    h = replace(h, attention(h, "encoder.mid.attn_1"));
    h = replace(h, resnet(h, "encoder.mid.block_2"));
    int zc = cfg.latentChannels();
    int c = (int) h.dim(0);
    long plane = h.size() / c;
    try (Tensor shortcut = be.allocate(2L * zc, h.dim(1), h.dim(2), h.dim(3));
        Tensor n = normSwish(h, "encoder.norm_out")) {
      be.groupMeanRows(h.view(c, plane), c / (2 * zc), shortcut.view(2L * zc, plane));
      h.close();
      try (Tensor moments = causalConv(n, "encoder.conv_out.conv")) {
        be.add(moments, shortcut, moments);
        Tensor mean = be.allocate(zc, moments.dim(1), moments.dim(2), moments.dim(3));
        be.copy(moments, 0, mean, 0, mean.size());
        return mean;
      }
    }
  }

  private static Tensor replace(Tensor old, Tensor next) {
    old.close();
    return next;
  }

  // ------------------------------------------------------------------ the pipelines' decode

  /**
   * Decodes sampled latents the way the official pipelines do: {@code z = latents / scaling_factor
   * (+ shift_factor when the config has one)}, then {@link #decodeTiled}. Returns pixels
   * [outChannels, (T-1)*4+1, 16h, 16w] in [-1, 1] (not clamped).
   */
  public Tensor decodeLatents(Tensor latents, VaeTiling tiling) {
    try (Tensor z = be.allocate(shape(latents))) {
      be.scale(latents, 1f / cfg.scalingFactor(), z);
      if (cfg.shiftFactor() != 0f) {
        try (Tensor shift = be.allocate(shape(latents))) {
          be.fill(shift, cfg.shiftFactor());
          be.add(z, shift, z);
        }
      }
      return decodeTiled(z, tiling);
    }
  }

  /**
   * The image-to-video condition latents as the official pipelines build them: the encoder's mean
   * times {@code scaling_factor} (the pipelines apply no shift factor here).
   */
  public Tensor encodeLatents(Tensor pixels) {
    Tensor mean = encode(pixels);
    be.scale(mean, cfg.scalingFactor(), mean);
    return mean;
  }

  // ------------------------------------------------------------------ tiling

  /** A decoded tile on the host: [planes = C * F][h][w]. */
  private record Tile(float[] px, int planes, int h, int w) {}

  /**
   * The official spatially tiled decode ({@code spatial_tiled_decode}): when z is wider or taller
   * than one tile, latent tiles start every {@link VaeTiling#strideLatent} pixels, each is decoded
   * over all frames, then, in raster order, blended in place into the tile above and the tile to
   * the left (rows/columns {@code y < e}: {@code b = a[-e + y] (1 - y/e) + b[y] y/e}, with {@code
   * e} the blend width clipped to both tiles) and cropped to {@link VaeTiling#keepPixels}. Tiles
   * are held on the host two rows at a time. There is no temporal tiling, as in the official VAE.
   */
  public Tensor decodeTiled(Tensor z, VaeTiling tiling) {
    int tile = tiling.tileLatent(cfg);
    int lh = (int) z.dim(2);
    int lw = (int) z.dim(3);
    if (lh <= tile && lw <= tile) {
      return decode(z);
    }
    int stride = tiling.strideLatent(cfg);
    int blend = tiling.blendPixels();
    int keep = tiling.keepPixels();
    int s = cfg.spatialFactor();
    int c = (int) z.dim(0);
    int t = (int) z.dim(1);
    int rows = (lh + stride - 1) / stride;
    int cols = (lw + stride - 1) / stride;
    int outH = 0;
    for (int i = 0; i < rows; i++) {
      outH += Math.min(keep, Math.min(tile, lh - i * stride) * s);
    }
    int outW = 0;
    for (int j = 0; j < cols; j++) {
      outW += Math.min(keep, Math.min(tile, lw - j * stride) * s);
    }
    float[] zt = be.toArray(z);
    Tensor out = null;
    Tile[] above = null;
    int y0 = 0;
    try {
      for (int i = 0; i < rows; i++) {
        Tile[] row = new Tile[cols];
        for (int j = 0; j < cols; j++) {
          row[j] = decodeTile(zt, c, t, lh, lw, i * stride, j * stride, tile);
          if (i > 0) {
            blendRows(above[j], row[j], blend);
          }
          if (j > 0) {
            blendCols(row[j - 1], row[j], blend);
          }
        }
        if (out == null) {
          out = be.allocate(cfg.outChannels(), row[0].planes / cfg.outChannels(), outH, outW);
        }
        int cropH = Math.min(keep, row[0].h);
        writeRow(row, keep, cropH, out, y0, outW);
        y0 += cropH;
        above = row;
      }
      return out;
    } catch (RuntimeException e) {
      if (out != null) {
        out.close();
      }
      throw e;
    }
  }

  private Tile decodeTile(float[] zt, int c, int t, int lh, int lw, int y0, int x0, int tile) {
    int th = Math.min(tile, lh - y0);
    int tw = Math.min(tile, lw - x0);
    float[] tt = new float[c * t * th * tw];
    for (int ch = 0; ch < c; ch++) {
      for (int f = 0; f < t; f++) {
        for (int y = 0; y < th; y++) {
          System.arraycopy(
              zt, ((ch * t + f) * lh + y0 + y) * lw + x0, tt, ((ch * t + f) * th + y) * tw, tw);
        }
      }
    }
    try (Tensor in = be.fromArray(tt, c, t, th, tw);
        Tensor px = decode(in)) {
      int planes = (int) (px.dim(0) * px.dim(1));
      return new Tile(be.toArray(px), planes, (int) px.dim(2), (int) px.dim(3));
    }
  }

  /** blend_v: the first e rows of b take over from the last e rows of a. */
  private static void blendRows(Tile a, Tile b, int blend) {
    int e = Math.min(Math.min(a.h, b.h), blend);
    int w = b.w;
    for (int p = 0; p < b.planes; p++) {
      for (int y = 0; y < e; y++) {
        float wa = (float) (1 - (double) y / e);
        float wb = (float) ((double) y / e);
        int ar = (p * a.h + a.h - e + y) * a.w;
        int br = (p * b.h + y) * w;
        for (int x = 0; x < w; x++) {
          b.px[br + x] = a.px[ar + x] * wa + b.px[br + x] * wb;
        }
      }
    }
  }

  /** blend_h: the first e columns of b take over from the last e columns of a. */
  private static void blendCols(Tile a, Tile b, int blend) {
    int e = Math.min(Math.min(a.w, b.w), blend);
    float[] wa = new float[e];
    float[] wb = new float[e];
    for (int x = 0; x < e; x++) {
      wa[x] = (float) (1 - (double) x / e);
      wb[x] = (float) ((double) x / e);
    }
    for (int p = 0; p < b.planes; p++) {
      for (int y = 0; y < b.h; y++) {
        int ar = (p * a.h + y) * a.w + a.w - e;
        int br = (p * b.h + y) * b.w;
        for (int x = 0; x < e; x++) {
          b.px[br + x] = a.px[ar + x] * wa[x] + b.px[br + x] * wb[x];
        }
      }
    }
  }

  /** Writes the cropped tiles of one row into rows [y0, y0 + cropH) of out, plane by plane. */
  private void writeRow(Tile[] row, int keep, int cropH, Tensor out, int y0, int outW) {
    int planes = row[0].planes;
    long outH = out.dim(2);
    float[] strip = new float[cropH * outW];
    for (int p = 0; p < planes; p++) {
      int x0 = 0;
      for (Tile tl : row) {
        int cw = Math.min(keep, tl.w);
        for (int y = 0; y < cropH; y++) {
          System.arraycopy(tl.px, (p * tl.h + y) * tl.w, strip, y * outW + x0, cw);
        }
        x0 += cw;
      }
      be.write(out, (p * outH + y0) * outW, strip, 0, strip.length);
    }
  }
}
