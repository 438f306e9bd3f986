package dev.reelflow.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * One setting of a ReelFlow process: its name, type, default, validation, documentation, whether it
 * is a secret, and the old names it was known by. Every process (ingest, orchestrator, workers,
 * CLI) declares its settings as constants of this type in a {@link ConfigSpec}; values are read
 * through {@link ConfigValues#get(Setting)}.
 *
 * <p>The vocabulary (ARCHITECTURE.md, decision 23): names are lower case, {@code .} separates
 * levels and {@code -} joins the words of one level ({@code ingest.rate-limit.per-second}); a
 * {@code kafka.} prefix followed by a Kafka client property keeps Kafka's own spelling ({@code
 * kafka.bootstrap.servers}); durations carry a unit ({@code 500ms}, {@code 30s}, {@code 10m},
 * {@code 2h}, {@code 1d}).
 *
 * @param <T> the parsed type
 */
public final class Setting<T> {

  private static final Pattern NAME = Pattern.compile("[a-z0-9]+([.-][a-z0-9]+)*");
  // old names predate the vocabulary: engine options were camelCase (tileSize)
  private static final Pattern OLD_NAME = Pattern.compile("[A-Za-z0-9]+([.-][A-Za-z0-9]+)*");

  /** An older name of a setting, with the conversion of its values to the new form. */
  public record OldName(String name, UnaryOperator<String> valueMapper) {}

  private final String name;
  private final String type;
  private final Function<String, T> parser;
  private final String defaultValue;
  private final boolean secret;
  private final String doc;
  private final List<OldName> oldNames;
  private final List<Check<T>> checks;

  private record Check<T>(Predicate<T> test, String requirement) {}

  private Setting(Builder<T> b) {
    this.name = b.name;
    this.type = b.type;
    this.parser = b.parser;
    this.defaultValue = b.defaultValue;
    this.secret = b.secret;
    this.doc = b.doc;
    this.oldNames = List.copyOf(b.oldNames);
    this.checks = List.copyOf(b.checks);
  }

  /** Free text. */
  public static Builder<String> string(String name) {
    return new Builder<>(name, "string", s -> s);
  }

  /** A 32-bit integer. */
  public static Builder<Integer> integer(String name) {
    return new Builder<>(name, "int", s -> Integer.valueOf(s.replace("_", "")));
  }

  /** A 64-bit integer (sizes in bytes, counts). */
  public static Builder<Long> longInteger(String name) {
    return new Builder<>(name, "long", s -> Long.valueOf(s.replace("_", "")));
  }

  /** A decimal number. */
  public static Builder<Double> decimal(String name) {
    return new Builder<>(name, "double", Double::valueOf);
  }

  /** {@code true} or {@code false} (any case); anything else is refused. */
  public static Builder<Boolean> bool(String name) {
    return new Builder<>(
        name,
        "boolean",
        s -> {
          String v = s.toLowerCase(Locale.ROOT);
          if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("expected true or false");
          }
          return Boolean.valueOf(v);
        });
  }

  /** A duration with a unit, see {@link Durations#parse(String)}. */
  public static Builder<Duration> duration(String name) {
    return new Builder<>(name, "duration", Durations::parse);
  }

  /** A comma-separated list; blanks are dropped. */
  public static Builder<List<String>> list(String name) {
    return new Builder<>(
        name,
        "list",
        s -> Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList());
  }

  /** One of {@code choices} (compared case-insensitively, returned in lower case). */
  public static Builder<String> choice(String name, String... choices) {
    List<String> allowed = List.of(choices);
    return new Builder<>(
        name,
        "one of " + String.join(", ", allowed),
        s -> {
          String v = s.toLowerCase(Locale.ROOT);
          if (!allowed.contains(v)) {
            throw new IllegalArgumentException("expected one of " + allowed);
          }
          return v;
        });
  }

  public String name() {
    return name;
  }

  /** The type as shown in the configuration tables. */
  public String type() {
    return type;
  }

  /** The default as text, or null when the setting has none (required or derived). */
  public String defaultValue() {
    return defaultValue;
  }

  public boolean secret() {
    return secret;
  }

  public String doc() {
    return doc;
  }

  public List<OldName> oldNames() {
    return oldNames;
  }

  /** The environment variable that sets this setting: {@link ConfigSpec#envName(String)}. */
  public String envName() {
    return ConfigSpec.envName(name);
  }

  /**
   * Parses and validates {@code raw}.
   *
   * @throws ConfigException naming this setting, the value and what is expected
   */
  public T parse(String raw) {
    return parse(raw, name);
  }

  /** {@link #parse(String)} with the setting called {@code shownName} in messages. */
  T parse(String raw, String shownName) {
    T value;
    try {
      value = parser.apply(raw.trim());
    } catch (RuntimeException e) {
      throw new ConfigException(
          shownName + ": cannot read '" + raw + "' as " + type + " (" + e.getMessage() + ")", e);
    }
    for (Check<T> c : checks) {
      if (!c.test().test(value)) {
        throw new ConfigException(
            shownName + " must be " + c.requirement() + ", got '" + raw + "'");
      }
    }
    return value;
  }

  @Override
  public String toString() {
    return name;
  }

  /**
   * Builds a setting.
   *
   * @param <T> the parsed type
   */
  public static final class Builder<T> {
    private final String name;
    private final String type;
    private final Function<String, T> parser;
    private String defaultValue;
    private boolean secret;
    private String doc = "";
    private final List<OldName> oldNames = new ArrayList<>();
    private final List<Check<T>> checks = new ArrayList<>();

    private Builder(String name, String type, Function<String, T> parser) {
      this.name = checkName(name);
      this.type = type;
      this.parser = parser;
    }

    /** The default, written as a user would write it. */
    public Builder<T> defaultValue(String value) {
      this.defaultValue = Objects.requireNonNull(value, "default");
      return this;
    }

    /** Masks the value in printed configurations. */
    public Builder<T> secret() {
      this.secret = true;
      return this;
    }

    /** What the setting does, in a sentence or two (the configuration tables show it). */
    public Builder<T> doc(String text) {
      this.doc = Objects.requireNonNull(text, "doc");
      return this;
    }

    /** An older name accepted, with a warning naming this one, for one release. */
    public Builder<T> oldName(String old) {
      return oldName(old, UnaryOperator.identity());
    }

    /**
     * An older name whose values were written differently, e.g. integer milliseconds: {@code
     * oldName("drain.grace.ms", Durations::fromMillis)}.
     */
    public Builder<T> oldName(String old, UnaryOperator<String> valueMapper) {
      if (old == null || !OLD_NAME.matcher(old).matches()) {
        throw new IllegalArgumentException(
            "old setting name '" + old + "': words joined by . or -");
      }
      oldNames.add(new OldName(old, valueMapper));
      return this;
    }

    /** A requirement on the parsed value, e.g. {@code check(v -> v > 0, "> 0")}. */
    public Builder<T> check(Predicate<T> test, String requirement) {
      checks.add(new Check<>(test, requirement));
      return this;
    }

    public Setting<T> build() {
      Setting<T> s = new Setting<>(this);
      if (defaultValue != null) {
        s.parse(defaultValue); // a bad default is a programming error: fail at class init
      }
      return s;
    }

    private static String checkName(String name) {
      if (name == null || !NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(
            "setting name '" + name + "': lower-case words joined by '.' or '-'");
      }
      return name;
    }
  }
}
