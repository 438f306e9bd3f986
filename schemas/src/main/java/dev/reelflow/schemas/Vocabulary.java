package dev.reelflow.schemas;

import dev.reelflow.schemas.avro.AspectRatio;
import dev.reelflow.schemas.avro.Mode;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.Resolution;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The one mapping between the JSON API's human strings and the Avro enum symbols (ARCHITECTURE.md,
 * decision 11).
 *
 * <p>Avro symbols must be identifiers ({@code P480}, {@code AR_16_9}); the API keeps {@code 480p}
 * and {@code 16:9}. Parsing trims and ignores case; formatting always gives the canonical API
 * string. Unknown strings raise an {@link IllegalArgumentException} whose message names the field
 * and lists the allowed values, so it can be returned to a client as is.
 */
public final class Vocabulary {

  private static final Table<Resolution> RESOLUTIONS =
      new Table<>(
          "resolution",
          Resolution.class,
          Map.of(Resolution.PREVIEW, "preview", Resolution.P480, "480p", Resolution.P720, "720p"));

  private static final Table<UpscaleTarget> UPSCALES =
      new Table<>(
          "upscale",
          UpscaleTarget.class,
          Map.of(UpscaleTarget.NONE, "none", UpscaleTarget.P1080, "1080p"));

  private static final Table<AspectRatio> ASPECT_RATIOS =
      new Table<>(
          "aspectRatio",
          AspectRatio.class,
          Map.of(
              AspectRatio.AR_16_9, "16:9",
              AspectRatio.AR_9_16, "9:16",
              AspectRatio.AR_1_1, "1:1",
              AspectRatio.AR_4_3, "4:3",
              AspectRatio.AR_3_4, "3:4"));

  private static final Table<Mode> MODES =
      new Table<>("mode", Mode.class, Map.of(Mode.T2V, "t2v", Mode.I2V, "i2v"));

  private static final Table<RenderState> STATES = symbolTable("state", RenderState.class);

  private static final Table<Stage> STAGES = symbolTable("stage", Stage.class);

  private Vocabulary() {}

  /** {@code preview|480p|720p} to {@link Resolution}. */
  public static Resolution resolution(String api) {
    return RESOLUTIONS.parse(api);
  }

  /** {@link Resolution} to {@code preview|480p|720p}. */
  public static String resolution(Resolution value) {
    return RESOLUTIONS.format(value);
  }

  /** Allowed API strings for the resolution, in symbol order. */
  public static List<String> resolutions() {
    return RESOLUTIONS.names();
  }

  /** {@code none|1080p} to {@link UpscaleTarget}. */
  public static UpscaleTarget upscale(String api) {
    return UPSCALES.parse(api);
  }

  /** {@link UpscaleTarget} to {@code none|1080p}. */
  public static String upscale(UpscaleTarget value) {
    return UPSCALES.format(value);
  }

  /** Allowed API strings for the upscale target, in symbol order. */
  public static List<String> upscales() {
    return UPSCALES.names();
  }

  /** {@code 16:9|9:16|1:1|4:3|3:4} to {@link AspectRatio}. */
  public static AspectRatio aspectRatio(String api) {
    return ASPECT_RATIOS.parse(api);
  }

  /** {@link AspectRatio} to {@code 16:9|9:16|1:1|4:3|3:4}. */
  public static String aspectRatio(AspectRatio value) {
    return ASPECT_RATIOS.format(value);
  }

  /** Allowed API strings for the aspect ratio, in symbol order. */
  public static List<String> aspectRatios() {
    return ASPECT_RATIOS.names();
  }

  /** {@code t2v|i2v} to {@link Mode}. */
  public static Mode mode(String api) {
    return MODES.parse(api);
  }

  /** {@link Mode} to {@code t2v|i2v}. */
  public static String mode(Mode value) {
    return MODES.format(value);
  }

  /** Allowed API strings for the mode, in symbol order. */
  public static List<String> modes() {
    return MODES.names();
  }

  /** {@code ACCEPTED|QUEUED|...|EXPIRED} (any case) to {@link RenderState}. */
  public static RenderState state(String api) {
    return STATES.parse(api);
  }

  /** {@link RenderState} to the name the API shows ({@code SUCCEEDED}, ...). */
  public static String state(RenderState value) {
    return STATES.format(value);
  }

  /** Allowed API strings for the render state, in symbol order. */
  public static List<String> states() {
    return STATES.names();
  }

  /** {@code BASE|UPSCALE} (any case) to {@link Stage}. */
  public static Stage stage(String api) {
    return STAGES.parse(api);
  }

  /** {@link Stage} to the name the API shows ({@code BASE}, {@code UPSCALE}). */
  public static String stage(Stage value) {
    return STAGES.format(value);
  }

  /** Allowed API strings for the stage, in symbol order. */
  public static List<String> stages() {
    return STAGES.names();
  }

  /** True when the state is final: no further transition will follow. */
  public static boolean isTerminal(RenderState state) {
    return switch (state) {
      case SUCCEEDED, FAILED, CANCELLED, EXPIRED -> true;
      case ACCEPTED, QUEUED, RENDERING, UPSCALING -> false;
    };
  }

  private static <E extends Enum<E>> Table<E> symbolTable(String field, Class<E> type) {
    Map<E, String> names = new EnumMap<>(type);
    for (E e : type.getEnumConstants()) {
      names.put(e, e.name());
    }
    return new Table<>(field, type, names);
  }

  /** One enum's two-way table; checked complete at class load so a new symbol fails fast. */
  private static final class Table<E extends Enum<E>> {
    private final String field;
    private final Map<E, String> toApi;
    private final Map<String, E> fromApi = new LinkedHashMap<>();
    private final List<String> names;

    Table(String field, Class<E> type, Map<E, String> mapping) {
      this.field = field;
      this.toApi = new EnumMap<>(mapping);
      for (E e : type.getEnumConstants()) {
        String api = toApi.get(e);
        if (api == null) {
          throw new IllegalStateException(
              "Vocabulary has no API string for " + type.getSimpleName() + "." + e.name());
        }
        fromApi.put(api.toLowerCase(Locale.ROOT), e);
      }
      this.names = List.copyOf(toApi.values());
    }

    E parse(String api) {
      if (api == null) {
        throw new IllegalArgumentException(
            field + " is missing; allowed values: " + String.join(", ", names));
      }
      E e = fromApi.get(api.trim().toLowerCase(Locale.ROOT));
      if (e == null) {
        throw new IllegalArgumentException(
            field + " '" + api + "' is not supported; allowed values: " + String.join(", ", names));
      }
      return e;
    }

    String format(E value) {
      if (value == null) {
        throw new IllegalArgumentException(field + " is null");
      }
      return toApi.get(value);
    }

    List<String> names() {
      return Collections.unmodifiableList(names);
    }
  }
}
