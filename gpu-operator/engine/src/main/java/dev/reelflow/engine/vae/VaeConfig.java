package dev.reelflow.engine.vae;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Shape of the causal 3D VAE (HunyuanVideo-1.5 {@code AutoencoderKLConv3D}), field for field the
 * released {@code vae/config.json}: {@link #fromConfig} reads one, {@link #reference()} is the
 * released one (128/256/512/1024/1024, 32 latent channels, x16 spatial, x4 temporal).
 *
 * @param name a label for logs and manifests
 * @param inChannels pixel channels the encoder takes ({@code in_channels}, 3)
 * @param outChannels pixel channels the decoder gives ({@code out_channels}, 3)
 * @param latentChannels {@code latent_channels} (32)
 * @param blockOut encoder level widths {@code block_out_channels}; the decoder uses them reversed
 * @param layersPerBlock resnets per encoder level ({@code layers_per_block}); the decoder has one
 *     more per level
 * @param spatialFactor {@code ffactor_spatial}, a power of two
 * @param temporalFactor {@code ffactor_temporal}, a power of two, at most the spatial factor
 * @param sampleSize {@code sample_size}: the default spatial tile in pixels (the pipelines replace
 *     it with {@link VaeTiling})
 * @param sampleTsize {@code sample_tsize}: the temporal tile in frames; unused, because the
 *     official VAE refuses temporal tiling
 * @param scalingFactor {@code scaling_factor}: sampled latents are divided by it before decoding
 * @param shiftFactor {@code shift_factor}, 0 when the config has none (the official pipelines test
 *     it for truthiness, so 0 and null mean the same): added after the division
 * @param downsampleMatchChannel {@code downsample_match_channel}: an encoder downsample outputs the
 *     next level's width (true) or keeps its input width (false)
 * @param upsampleMatchChannel {@code upsample_match_channel}: likewise for decoder upsamples
 */
public record VaeConfig(
    String name,
    int inChannels,
    int outChannels,
    int latentChannels,
    int[] blockOut,
    int layersPerBlock,
    int spatialFactor,
    int temporalFactor,
    int sampleSize,
    int sampleTsize,
    float scalingFactor,
    float shiftFactor,
    boolean downsampleMatchChannel,
    boolean upsampleMatchChannel) {

  /** The keys of {@code AutoencoderKLConv3D}'s constructor, i.e. of a valid config.json. */
  private static final Set<String> KEYS =
      Set.of(
          "in_channels",
          "out_channels",
          "latent_channels",
          "block_out_channels",
          "layers_per_block",
          "ffactor_spatial",
          "ffactor_temporal",
          "sample_size",
          "sample_tsize",
          "scaling_factor",
          "shift_factor",
          "downsample_match_channel",
          "upsample_match_channel");

  private static final Set<String> REQUIRED =
      Set.of(
          "in_channels",
          "out_channels",
          "latent_channels",
          "block_out_channels",
          "layers_per_block",
          "ffactor_spatial",
          "ffactor_temporal",
          "sample_size",
          "sample_tsize");

  public VaeConfig {
    blockOut = blockOut.clone();
    List<String> bad = new ArrayList<>();
    if (blockOut.length < 2) {
      bad.add("block_out_channels needs at least 2 levels");
    }
    for (int c : blockOut) {
      if (c <= 0) {
        bad.add("block_out_channels must be positive: " + Arrays.toString(blockOut));
        break;
      }
    }
    if (inChannels <= 0 || outChannels <= 0 || latentChannels <= 0 || layersPerBlock <= 0) {
      bad.add("in/out/latent channels and layers_per_block must be positive");
    }
    if (Integer.bitCount(spatialFactor) != 1 || Integer.bitCount(temporalFactor) != 1) {
      bad.add("ffactor_spatial and ffactor_temporal must be powers of two");
    } else if (temporalFactor > spatialFactor) {
      bad.add("ffactor_temporal must not exceed ffactor_spatial");
    } else if (log2(spatialFactor) > blockOut.length - 1) {
      bad.add(
          "ffactor_spatial "
              + spatialFactor
              + " needs "
              + (log2(spatialFactor) + 1)
              + " levels, block_out_channels has "
              + blockOut.length);
    }
    if (!(scalingFactor > 0) || !Float.isFinite(shiftFactor)) {
      bad.add("scaling_factor must be positive and shift_factor finite");
    }
    if (bad.isEmpty()) {
      checkResampling(
          blockOut,
          latentChannels,
          spatialFactor,
          temporalFactor,
          downsampleMatchChannel,
          upsampleMatchChannel,
          bad);
    }
    if (!bad.isEmpty()) {
      throw new IllegalArgumentException("VAE config " + name + ": " + String.join("; ", bad));
    }
  }

  /** The official modules' asserts, so a config that would not build there fails here. */
  private static void checkResampling(
      int[] bo, int z, int sf, int tf, boolean downMatch, boolean upMatch, List<String> bad) {
    if (bo[bo.length - 1] % (2 * z) != 0) {
      bad.add("the last block width must be a multiple of 2 * latent_channels");
    }
    for (int i = 0; i < bo.length; i++) {
      int in = bo[i];
      if (downsamples(i, sf)) {
        int out = downMatch ? bo[i + 1] : in;
        boolean time = downsamplesInTime(i, sf, tf);
        int factor = time ? 8 : 4;
        if (out % factor != 0
            || (factor * in) % out != 0
            || (time && (factor * in / out) % 2 != 0)) {
          bad.add("encoder level " + i + ": downsample " + in + " -> " + out + " does not divide");
        }
      }
    }
    int[] rev = reversed(bo);
    if (rev[0] % z != 0) {
      bad.add("the first decoder width must be a multiple of latent_channels");
    }
    for (int i = 0; i < rev.length; i++) {
      int in = rev[i];
      if (upsamples(i, sf)) {
        int out = upMatch ? rev[i + 1] : in;
        boolean time = upsamplesInTime(i, tf);
        int factor = time ? 8 : 4;
        if ((factor * out) % in != 0 || (time && (factor * out / in) % 2 != 0)) {
          bad.add("decoder level " + i + ": upsample " + in + " -> " + out + " does not divide");
        }
      }
    }
  }

  /**
   * Reads a parsed {@code vae/config.json}. Keys starting with '_' (diffusers bookkeeping such as
   * {@code _class_name}) are ignored; any other key the official class does not take is an error,
   * as is a missing required one.
   *
   * @throws IllegalArgumentException naming the offending keys
   */
  public static VaeConfig fromConfig(String name, Map<String, ?> json) {
    List<String> unknown = new ArrayList<>();
    for (String k : json.keySet()) {
      if (!k.startsWith("_") && !KEYS.contains(k)) {
        unknown.add(k);
      }
    }
    List<String> missing = new ArrayList<>();
    for (String k : REQUIRED) {
      if (json.get(k) == null) {
        missing.add(k);
      }
    }
    if (!json.containsKey("scaling_factor") || json.get("scaling_factor") == null) {
      // the official class defaults it to None, and then the pipelines cannot decode
      missing.add("scaling_factor");
    }
    if (!unknown.isEmpty() || !missing.isEmpty()) {
      throw new IllegalArgumentException(
          "VAE config "
              + name
              + ": "
              + (unknown.isEmpty() ? "" : "unknown keys " + unknown.stream().sorted().toList())
              + (unknown.isEmpty() || missing.isEmpty() ? "" : "; ")
              + (missing.isEmpty() ? "" : "missing keys " + missing.stream().sorted().toList())
              + "; this is not an AutoencoderKLConv3D config.json");
    }
    Map<String, Object> j = new LinkedHashMap<>(json);
    Object blocks = j.get("block_out_channels");
    if (!(blocks instanceof List<?> list)) {
      throw new IllegalArgumentException("VAE config " + name + ": block_out_channels is no list");
    }
    int[] bo = new int[list.size()];
    for (int i = 0; i < bo.length; i++) {
      bo[i] = intValue(name, "block_out_channels", list.get(i));
    }
    Object shift = j.get("shift_factor");
    return new VaeConfig(
        name,
        intValue(name, "in_channels", j.get("in_channels")),
        intValue(name, "out_channels", j.get("out_channels")),
        intValue(name, "latent_channels", j.get("latent_channels")),
        bo,
        intValue(name, "layers_per_block", j.get("layers_per_block")),
        intValue(name, "ffactor_spatial", j.get("ffactor_spatial")),
        intValue(name, "ffactor_temporal", j.get("ffactor_temporal")),
        intValue(name, "sample_size", j.get("sample_size")),
        intValue(name, "sample_tsize", j.get("sample_tsize")),
        floatValue(name, "scaling_factor", j.get("scaling_factor")),
        shift == null ? 0f : floatValue(name, "shift_factor", shift),
        boolValue(
            name, "downsample_match_channel", j.getOrDefault("downsample_match_channel", true)),
        boolValue(name, "upsample_match_channel", j.getOrDefault("upsample_match_channel", true)));
  }

  private static int intValue(String name, String key, Object v) {
    if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return Math.toIntExact(n.longValue());
    }
    throw new IllegalArgumentException("VAE config " + name + ": " + key + " must be an integer");
  }

  private static float floatValue(String name, String key, Object v) {
    if (v instanceof Number n) {
      return n.floatValue();
    }
    throw new IllegalArgumentException("VAE config " + name + ": " + key + " must be a number");
  }

  private static boolean boolValue(String name, String key, Object v) {
    if (v instanceof Boolean b) {
      return b;
    }
    throw new IllegalArgumentException(
        "VAE config " + name + ": " + key + " must be true or false");
  }

  /** The released VAE: (128, 256, 512, 1024, 1024), 2 layers per block, scaling 1.03682. */
  public static VaeConfig reference() {
    return new VaeConfig(
        "hunyuanvideo-1.5",
        3,
        3,
        32,
        new int[] {128, 256, 512, 1024, 1024},
        2,
        16,
        4,
        256,
        64,
        1.03682f,
        0f,
        true,
        true);
  }

  /** Reduced-width VAE with the same structure and compression, for tests and CPU demos. */
  public static VaeConfig tiny() {
    return new VaeConfig(
        "tiny",
        3,
        3,
        32,
        new int[] {8, 16, 32, 64, 64},
        1,
        16,
        4,
        256,
        64,
        1.03682f,
        0f,
        true,
        true);
  }

  @Override
  public int[] blockOut() {
    return blockOut.clone();
  }

  /** Latent frames for a pixel frame count: (F - 1) / 4 + 1. */
  public int latentFrames(int frames) {
    return (frames - 1) / temporalFactor + 1;
  }

  /** Pixel frames decoded from latent frames: (T - 1) * 4 + 1. */
  public int pixelFrames(int latentFrames) {
    return (latentFrames - 1) * temporalFactor + 1;
  }

  /** Decoder level widths: {@link #blockOut} reversed. */
  int[] decoderWidths() {
    return reversed(blockOut);
  }

  /** Whether encoder level i ends in a (spatial) downsample. */
  boolean encoderDownsamples(int level) {
    return downsamples(level, spatialFactor);
  }

  /** Whether encoder level i's downsample also halves time. */
  boolean encoderDownsamplesInTime(int level) {
    return downsamplesInTime(level, spatialFactor, temporalFactor);
  }

  /** Whether decoder level i ends in an upsample. */
  boolean decoderUpsamples(int level) {
    return upsamples(level, spatialFactor);
  }

  /** Whether decoder level i's upsample also doubles time. */
  boolean decoderUpsamplesInTime(int level) {
    return upsamplesInTime(level, temporalFactor);
  }

  private static boolean downsamples(int i, int sf) {
    return i < log2(sf);
  }

  private static boolean downsamplesInTime(int i, int sf, int tf) {
    return downsamples(i, sf) && i >= log2(sf / tf);
  }

  private static boolean upsamples(int i, int sf) {
    return i < log2(sf);
  }

  private static boolean upsamplesInTime(int i, int tf) {
    return i < log2(tf);
  }

  static int log2(int v) {
    return 31 - Integer.numberOfLeadingZeros(v);
  }

  private static int[] reversed(int[] a) {
    int[] r = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      r[i] = a[a.length - 1 - i];
    }
    return r;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VaeConfig v
        && v.name.equals(name)
        && v.inChannels == inChannels
        && v.outChannels == outChannels
        && v.latentChannels == latentChannels
        && Arrays.equals(v.blockOut, blockOut)
        && v.layersPerBlock == layersPerBlock
        && v.spatialFactor == spatialFactor
        && v.temporalFactor == temporalFactor
        && v.sampleSize == sampleSize
        && v.sampleTsize == sampleTsize
        && Float.compare(v.scalingFactor, scalingFactor) == 0
        && Float.compare(v.shiftFactor, shiftFactor) == 0
        && v.downsampleMatchChannel == downsampleMatchChannel
        && v.upsampleMatchChannel == upsampleMatchChannel;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(blockOut);
  }

  @Override
  public String toString() {
    return "VaeConfig["
        + name
        + ", blocks "
        + Arrays.toString(blockOut)
        + " x"
        + layersPerBlock
        + ", latent "
        + latentChannels
        + ", x"
        + spatialFactor
        + "/x"
        + temporalFactor
        + ", scaling "
        + scalingFactor
        + (shiftFactor != 0 ? ", shift " + shiftFactor : "")
        + "]";
  }
}
