package dev.reelflow.engine.checkpoint;

import dev.reelflow.engine.EngineApi;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name of a transformer variant folder, as the official pipeline builds it ({@code
 * get_transformer_version}): {@code <resolution>_<task>} plus {@code _step_distilled}, or {@code
 * _distilled} (CFG-distilled) optionally followed by {@code _sparse} (SSTA); the super-resolution
 * transformers are {@code <resolution>_sr_distilled}.
 *
 * @param resolution e.g. 480p, 720p, 1080p
 * @param task t2v, i2v or sr
 * @param kind how it was trained for inference
 */
@EngineApi
public record VariantName(String resolution, Task task, Kind kind) {
  /** What the variant renders. */
  public enum Task {
    T2V,
    I2V,
    SR
  }

  /** How the variant was distilled; a worker's preference picks among these. */
  public enum Kind {
    /** 50 steps with classifier-free guidance. */
    BASE,
    /** CFG-distilled: guidance 1, one forward per step. */
    DISTILLED,
    /** CFG-distilled with sparse (SSTA) attention. */
    SPARSE,
    /** Step-distilled (mean-flow): 8 to 12 steps, guidance 1. */
    STEP_DISTILLED
  }

  /** The transformer variants of the released checkpoint, in the release's order. */
  public static final List<String> RELEASED =
      List.of(
          "480p_t2v",
          "480p_i2v",
          "480p_t2v_distilled",
          "480p_i2v_distilled",
          "480p_i2v_step_distilled",
          "720p_t2v",
          "720p_i2v",
          "720p_i2v_distilled",
          "720p_i2v_distilled_sparse",
          "720p_sr_distilled",
          "1080p_sr_distilled");

  /** The released latent upsamplers (one per SR transformer). */
  public static final List<String> RELEASED_UPSAMPLERS =
      List.of("720p_sr_distilled", "1080p_sr_distilled");

  private static final Pattern NAME =
      Pattern.compile("(\\d+p)_(t2v|i2v|sr)(_step_distilled|_distilled_sparse|_distilled)?");

  public VariantName {
    if (task == Task.SR && kind != Kind.DISTILLED) {
      throw new IllegalArgumentException("SR variants are CFG-distilled");
    }
  }

  /** The variant a base render uses, as the official get_transformer_version builds it. */
  public static VariantName base(String resolution, boolean imageToVideo, Kind kind) {
    return new VariantName(resolution, imageToVideo ? Task.I2V : Task.T2V, kind);
  }

  /** Parses a folder name; empty for names outside the official scheme. */
  public static Optional<VariantName> parse(String name) {
    Matcher m = NAME.matcher(name);
    if (!m.matches()) {
      return Optional.empty();
    }
    Task task = Task.valueOf(m.group(2).toUpperCase());
    String suffix = m.group(3) == null ? "" : m.group(3);
    Kind kind =
        switch (suffix) {
          case "_step_distilled" -> Kind.STEP_DISTILLED;
          case "_distilled_sparse" -> Kind.SPARSE;
          case "_distilled" -> Kind.DISTILLED;
          default -> Kind.BASE;
        };
    if (task == Task.SR && kind != Kind.DISTILLED) {
      return Optional.empty();
    }
    return Optional.of(new VariantName(m.group(1), task, kind));
  }

  /** The SR transformer (and upsampler) the official pipeline pairs with this base variant. */
  public VariantName srVariant() {
    if (task == Task.SR) {
      throw new IllegalStateException(this + " is already an SR variant");
    }
    String target =
        switch (resolution) {
          case "480p" -> "720p";
          case "720p" -> "1080p";
          default ->
              throw new IllegalArgumentException(
                  "no SR stage for a " + resolution + " base variant");
        };
    return new VariantName(target, Task.SR, Kind.DISTILLED);
  }

  /** The folder name. */
  @Override
  public String toString() {
    String base = resolution + "_" + task.name().toLowerCase();
    return switch (kind) {
      case BASE -> base;
      case DISTILLED -> base + "_distilled";
      case SPARSE -> base + "_distilled_sparse";
      case STEP_DISTILLED -> base + "_step_distilled";
    };
  }
}
