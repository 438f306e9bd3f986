package dev.reelflow.engine.sampler;

import dev.reelflow.engine.EngineApi;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The sampler settings the official pipeline uses for each released transformer variant ({@code
 * PIPELINE_CONFIGS} and {@code SR_PIPELINE_CONFIGS} in hyvideo/commons, with the pipeline's
 * defaults of 50 steps where a variant names none): steps, flow shift, classifier-free guidance
 * scale (1 = no CFG, one forward per step) and embedded guidance (none for every released variant).
 * The official pipeline builds its scheduler from these per call, whatever the checkpoint's {@code
 * scheduler/} folder holds.
 *
 * @param variant transformer variant, e.g. {@code 720p_i2v_distilled}
 * @param steps denoising steps
 * @param shift flow shift
 * @param guidance classifier-free guidance scale
 * @param embeddedGuidance embedded guidance scale, or NaN for none
 */
@EngineApi
public record SamplerDefaults(
    String variant, int steps, double shift, double guidance, double embeddedGuidance) {

  private static final Map<String, SamplerDefaults> TABLE = new LinkedHashMap<>();

  private static void put(String v, int steps, double shift, double guidance) {
    TABLE.put(v, new SamplerDefaults(v, steps, shift, guidance, Double.NaN));
  }

  static {
    put("480p_t2v", 50, 5, 6);
    put("480p_i2v", 50, 5, 6);
    put("720p_t2v", 50, 9, 6);
    put("720p_i2v", 50, 7, 6);
    put("480p_t2v_distilled", 50, 5, 1);
    put("480p_i2v_distilled", 50, 5, 1);
    put("720p_t2v_distilled", 50, 9, 1);
    put("720p_i2v_distilled", 50, 7, 1);
    put("720p_t2v_distilled_sparse", 50, 9, 1);
    put("720p_i2v_distilled_sparse", 50, 7, 1);
    put("480p_i2v_step_distilled", 12, 7, 1);
    put("720p_sr_distilled", 6, 2, 1);
    put("1080p_sr_distilled", 8, 2, 1);
  }

  /** Whether classifier-free guidance runs (a scale above 1: two forwards per step). */
  public boolean classifierFreeGuidance() {
    return guidance > 1;
  }

  /** Whether the variant takes an embedded guidance input. */
  public boolean hasEmbeddedGuidance() {
    return !Double.isNaN(embeddedGuidance);
  }

  /**
   * The official settings of a variant; {@link IllegalArgumentException} for a name the official
   * pipeline does not know (it would fail with a KeyError).
   */
  public static SamplerDefaults forVariant(String variant) {
    SamplerDefaults d = TABLE.get(variant);
    if (d == null) {
      throw new IllegalArgumentException(
          "no official sampler settings for transformer variant '"
              + variant
              + "'; known: "
              + TABLE.keySet());
    }
    return d;
  }

  /** Every variant's settings, in the official table's order. */
  public static Map<String, SamplerDefaults> table() {
    return java.util.Collections.unmodifiableMap(TABLE);
  }
}
