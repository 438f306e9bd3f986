package dev.reelflow.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The settings of one process as read by {@link ConfigSpec#load}: every value with where it came
 * from, already validated. Immutable; {@link #with(String, String)} makes a changed copy.
 */
public final class ConfigValues {

  private record Value(String raw, String source, boolean oldName) {}

  private final ConfigSpec spec;
  private final String namePrefix;
  private final Map<String, Value> values;
  private final List<String> warnings;

  private ConfigValues(
      ConfigSpec spec, String namePrefix, Map<String, Value> values, List<String> warnings) {
    this.spec = spec;
    this.namePrefix = namePrefix;
    this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    this.warnings = List.copyOf(warnings);
    for (Setting<?> s : spec.settings()) {
      Value v = values.get(s.name());
      if (v != null) {
        try {
          s.parse(v.raw(), namePrefix + s.name());
        } catch (ConfigException e) {
          throw new ConfigException(e.getMessage() + " (" + v.source() + ")", e);
        }
      }
    }
  }

  public ConfigSpec spec() {
    return spec;
  }

  /** The value of {@code setting}, parsed; null when it is not set and has no default. */
  public <T> T get(Setting<T> setting) {
    Value v = values.get(setting.name());
    return v == null ? null : setting.parse(v.raw());
  }

  /**
   * The value of a setting that has no default but is needed.
   *
   * @throws ConfigException naming the setting, its environment variable and what to do
   */
  public <T> T require(Setting<T> setting) {
    Value v = values.get(setting.name());
    if (v == null || v.raw().isBlank()) {
      throw new ConfigException(
          spec.process()
              + " setting "
              + namePrefix
              + setting.name()
              + " is required: set it in the configuration file or as "
              + ConfigSpec.envName(namePrefix + setting.name()));
    }
    return setting.parse(v.raw());
  }

  /** Whether {@code setting} was given (not only defaulted). */
  public boolean isSet(Setting<?> setting) {
    Value v = values.get(setting.name());
    return v != null && !v.source().equals("default");
  }

  /** The raw text of any setting, family members included, or null. */
  public String raw(String name) {
    Value v = values.get(name);
    return v == null ? null : v.raw();
  }

  /** Where the value of {@code name} came from: default, file, environment or override. */
  public String source(String name) {
    Value v = values.get(name);
    return v == null ? null : v.source();
  }

  /** The settings under {@code prefix} (a family), with the prefix removed. */
  public Map<String, String> withPrefix(String prefix) {
    Map<String, String> out = new TreeMap<>();
    values.forEach(
        (k, v) -> {
          if (k.startsWith(prefix) && k.length() > prefix.length()) {
            out.put(k.substring(prefix.length()), v.raw());
          }
        });
    return out;
  }

  /** Every value by its setting name (defaults included), for handing on to another process. */
  public Map<String, String> toMap() {
    Map<String, String> out = new TreeMap<>();
    values.forEach((k, v) -> out.put(k, v.raw()));
    return out;
  }

  /** What was read under an old name or in an old form, one sentence each. */
  public List<String> warnings() {
    return warnings;
  }

  /**
   * A copy with {@code name} set to {@code value}.
   *
   * @throws ConfigException when the name is unknown or the value invalid
   */
  public ConfigValues with(String name, String value) {
    return with(Map.of(name, value));
  }

  /** A copy with every entry of {@code more} set (as overrides). */
  public ConfigValues with(Map<String, String> more) {
    Collector c = new Collector(spec, namePrefix);
    values.forEach((k, v) -> c.values.put(k, v));
    c.warnings.addAll(warnings);
    more.forEach((k, v) -> spec.putNamed(c, k, v, "override"));
    return c.build();
  }

  /**
   * Every value as {@code name = value (source)} lines, sorted, secrets masked: what a process
   * prints at start.
   */
  public String describe() {
    StringBuilder sb = new StringBuilder(spec.process()).append(" configuration:");
    values.forEach(
        (k, v) ->
            sb.append("\n  ")
                .append(namePrefix)
                .append(k)
                .append(" = ")
                .append(masked(k, v.raw()))
                .append("  (")
                .append(v.source())
                .append(')'));
    return sb.toString();
  }

  private String masked(String name, String value) {
    Setting<?> s = spec.setting(name);
    boolean secret =
        (s != null && s.secret())
            || name.contains("password")
            || name.contains("secret")
            || name.endsWith("jaas.config")
            || name.endsWith("user.info");
    return secret && value != null && !value.isEmpty() ? "********" : value;
  }

  @Override
  public String toString() {
    return describe();
  }

  /** Gathers values while a spec reads its sources. */
  static final class Collector {
    private final ConfigSpec spec;
    private final String namePrefix;
    private final Map<String, Value> values = new TreeMap<>();
    private final List<String> warnings = new ArrayList<>();

    /**
     * @param namePrefix shown before every name in messages ({@code engine.emulated.}), or empty
     */
    Collector(ConfigSpec spec, String namePrefix) {
      this.spec = spec;
      this.namePrefix = namePrefix;
    }

    String namePrefix() {
      return namePrefix;
    }

    void put(String name, String raw, String source) {
      values.put(name, new Value(raw, source, false));
    }

    /** A value given under an old name: the new name in the same source wins. */
    void putOld(String name, String raw, String source) {
      Value cur = values.get(name);
      if (cur != null && cur.source().equals(source) && !cur.oldName()) {
        return;
      }
      values.put(name, new Value(raw, source, true));
    }

    void warn(String warning) {
      warnings.add(warning);
    }

    ConfigValues build() {
      return new ConfigValues(spec, namePrefix, values, warnings);
    }
  }
}
