package dev.reelflow.engine.sr;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.sampler.SamplerDefaults;
import java.util.Locale;

/**
 * The released super-resolution variants and their official pipeline settings ({@code
 * SR_PIPELINE_CONFIGS} in hyvideo/commons): the transformer under {@code transformer/<folder>}, the
 * latent upsampler under {@code upsampler/<folder>}, Euler steps and shift, classifier-free
 * guidance 1 (off), and the resolution buckets that map the base stage's size to the SR grid.
 */
@EngineApi
public enum SrVariant {
  /** 480p base to 720p: {@code SRTo720pUpsampler}, 6 steps, shift 2. */
  SR_720P("720p_sr_distilled", "480p", 640, "720p", 960),
  /** 720p base to 1080p: {@code SRTo1080pUpsampler}, 8 steps, shift 2. */
  SR_1080P("1080p_sr_distilled", "720p", 960, "1080p", 1440);

  private final String folder;
  private final String baseResolution;
  private final int lrBaseSize;
  private final String resolution;
  private final int hrBaseSize;

  SrVariant(
      String folder, String baseResolution, int lrBaseSize, String resolution, int hrBaseSize) {
    this.folder = folder;
    this.baseResolution = baseResolution;
    this.lrBaseSize = lrBaseSize;
    this.resolution = resolution;
    this.hrBaseSize = hrBaseSize;
  }

  /** The official sampler settings of this variant. */
  public SamplerDefaults sampler() {
    return SamplerDefaults.forVariant(folder);
  }

  /** The checkpoint folder name, e.g. {@code 1080p_sr_distilled}. */
  public String folder() {
    return folder;
  }

  /** The base stage's resolution tier this variant upscales ({@code 480p} or {@code 720p}). */
  public String baseResolution() {
    return baseResolution;
  }

  /** The SR output tier ({@code 720p} or {@code 1080p}: the transformer's ideal resolution). */
  public String resolution() {
    return resolution;
  }

  /** Bucket base size of the base stage (the official {@code SizeMap}): 640 or 960. */
  public int lrBaseSize() {
    return lrBaseSize;
  }

  /** Bucket base size of the SR grid: 960 or 1440. */
  public int hrBaseSize() {
    return hrBaseSize;
  }

  /** Official Euler steps: 6 (720p) or 8 (1080p). */
  public int steps() {
    return sampler().steps();
  }

  /** Official flow shift: 2. */
  public double shift() {
    return sampler().shift();
  }

  /** Official guidance scale: 1, i.e. no classifier-free guidance (one transformer pass a step). */
  public double guidance() {
    return sampler().guidance();
  }

  /** By folder name ({@code 1080p_sr_distilled}) or tier ({@code 1080p}). */
  public static SrVariant named(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    for (SrVariant v : values()) {
      if (v.folder.equals(n) || v.resolution.equals(n)) {
        return v;
      }
    }
    throw new IllegalArgumentException(
        "unknown SR variant '" + name + "'; use 720p_sr_distilled or 1080p_sr_distilled");
  }
}
