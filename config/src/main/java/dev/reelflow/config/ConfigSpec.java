package dev.reelflow.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The settings of one process and how they are read: defaults, then a properties file, then
 * environment variables, then explicit overrides (command line, tests). Immutable once built.
 *
 * <p>Every setting's environment variable is {@code REELFLOW_} and its name upper-cased with {@code
 * .} and {@code -} as {@code _} ({@link #envName(String)}), the same rule in every process, so one
 * environment can serve them all: a process ignores {@code REELFLOW_*} variables that are not its
 * own. Files and overrides are strict: an unknown name fails, suggesting the closest known one. An
 * old name is read with a warning naming the new one (see {@link Setting.Builder#oldName}).
 *
 * <p>Open families ({@code engine.<name>.*} options, {@code kafka.*} client properties) are
 * declared with {@link Builder#family}; their values are read with {@link
 * ConfigValues#withPrefix(String)}. A family whose members declare their own settings (an engine's
 * options) reads them with {@link #read(String, Map, String)}: as strictly, named in full.
 */
public final class ConfigSpec {

  /** The prefix of every environment variable. */
  public static final String ENV_PREFIX = "REELFLOW_";

  private static final Logger LOG = LoggerFactory.getLogger(ConfigSpec.class);

  /** An open family of settings: every name under {@code prefix} is accepted. */
  public record Family(String prefix, String doc, UnaryOperator<String> envToName) {}

  private record Named(Setting<?> setting, Setting.OldName old) {}

  private final String process;
  private final Map<String, Setting<?>> settings;
  private final Map<String, Named> byAnyName;
  private final Map<String, Named> byEnv;
  private final List<Family> families;
  private final List<String> oldEnvPrefixes;

  private ConfigSpec(Builder b) {
    this.process = b.process;
    this.settings = Collections.unmodifiableMap(new LinkedHashMap<>(b.settings));
    this.families = List.copyOf(b.families);
    this.oldEnvPrefixes = List.copyOf(b.oldEnvPrefixes);
    Map<String, Named> names = new LinkedHashMap<>();
    Map<String, Named> envs = new LinkedHashMap<>();
    for (Setting<?> s : settings.values()) {
      put(names, s.name(), new Named(s, null));
      put(envs, envName(s.name()), new Named(s, null));
    }
    for (Setting<?> s : settings.values()) {
      for (Setting.OldName o : s.oldNames()) {
        put(names, o.name(), new Named(s, o));
        envs.putIfAbsent(envName(o.name()), new Named(s, o));
      }
    }
    this.byAnyName = names;
    this.byEnv = envs;
  }

  private static void put(Map<String, Named> map, String key, Named n) {
    if (map.putIfAbsent(key, n) != null) {
      throw new IllegalStateException("setting name declared twice: " + key);
    }
  }

  /** Starts the settings of {@code process} (as named in messages: ingest, worker, ...). */
  public static Builder builder(String process) {
    return new Builder(process);
  }

  /** {@code REELFLOW_} + {@code name} upper-cased, {@code .} and {@code -} as {@code _}. */
  public static String envName(String name) {
    return ENV_PREFIX + name.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  public String process() {
    return process;
  }

  /** The fixed settings, in declaration order. */
  public Collection<Setting<?>> settings() {
    return settings.values();
  }

  public List<Family> families() {
    return families;
  }

  /** The setting called {@code name} (its current name), or null. */
  public Setting<?> setting(String name) {
    return settings.get(name);
  }

  /** The defaults only. */
  public ConfigValues defaults() {
    return load(null, Map.of(), Map.of());
  }

  /**
   * Reads the settings of one member of another process's open family, e.g. the options of engine
   * {@code emulated}, which the worker reads as {@code engine.emulated.*} and hands on without the
   * prefix. As strict as {@link #load}: an unknown name fails suggesting the closest, a bad value
   * fails naming its setting, an old name is read with a warning; every message, warning and
   * description names a setting in full ({@code namePrefix} + its name, {@code
   * engine.emulated.step}).
   *
   * @param namePrefix the family prefix the settings were given under, e.g. {@code
   *     engine.emulated.}
   * @param values the values by their names without the prefix
   * @param source where they came from, for messages (e.g. {@code worker configuration})
   * @throws ConfigException naming the setting in full, where its value came from and what to write
   */
  public ConfigValues read(String namePrefix, Map<String, String> values, String source) {
    ConfigValues.Collector c = new ConfigValues.Collector(this, namePrefix);
    for (Setting<?> s : settings.values()) {
      if (s.defaultValue() != null) {
        c.put(s.name(), s.defaultValue(), "default");
      }
    }
    for (Map.Entry<String, String> e : new TreeMap<>(values).entrySet()) {
      putNamed(c, e.getKey(), e.getValue(), source);
    }
    ConfigValues read = c.build();
    for (String w : read.warnings()) {
      LOG.warn("{}", w);
    }
    return read;
  }

  /**
   * Reads the settings.
   *
   * @param file a {@code .properties} file, or null
   * @param env the environment, usually {@code System.getenv()}
   * @param overrides explicit values, applied last
   * @throws ConfigException naming the setting, where its value came from and what to write
   */
  public ConfigValues load(Path file, Map<String, String> env, Map<String, String> overrides) {
    ConfigValues.Collector c = new ConfigValues.Collector(this, "");
    for (Setting<?> s : settings.values()) {
      if (s.defaultValue() != null) {
        c.put(s.name(), s.defaultValue(), "default");
      }
    }
    if (file != null) {
      Properties p = new Properties();
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      } catch (IOException e) {
        throw new ConfigException(
            "cannot read the " + process + " configuration file " + file + ": " + e, e);
      }
      for (Map.Entry<String, String> e : toMap(p).entrySet()) {
        putNamed(c, e.getKey(), e.getValue(), "file " + file);
      }
    }
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      putEnv(c, e.getKey(), e.getValue());
    }
    for (Map.Entry<String, String> e : overrides.entrySet()) {
      putNamed(c, e.getKey(), e.getValue(), "override");
    }
    ConfigValues values = c.build();
    for (String w : values.warnings()) {
      LOG.warn("{}", w);
    }
    return values;
  }

  private static Map<String, String> toMap(Properties p) {
    Map<String, String> m = new TreeMap<>();
    for (String n : p.stringPropertyNames()) {
      m.put(n, p.getProperty(n));
    }
    return m;
  }

  /** Records a value given under {@code name} (new, old or family name); unknown names fail. */
  void putNamed(ConfigValues.Collector c, String name, String value, String source) {
    String prefix = c.namePrefix();
    Named n = byAnyName.get(name);
    if (n != null) {
      put(c, n, value, source);
      if (n.old() != null) {
        c.warn(
            prefix
                + name
                + " ("
                + source
                + ") is an old name; use "
                + prefix
                + n.setting().name()
                + " (the old name is read for one release)");
      }
      return;
    }
    if (family(name) != null) {
      c.put(name, value.trim(), source);
      return;
    }
    throw new ConfigException(
        "unknown "
            + process
            + " setting '"
            + prefix
            + name
            + "' ("
            + source
            + ")"
            + suggestion(name, prefix));
  }

  private void putEnv(ConfigValues.Collector c, String var, String value) {
    if (!var.startsWith(ENV_PREFIX)) {
      return;
    }
    if (resolveEnv(c, var, var, value)) {
      return;
    }
    for (String old : oldEnvPrefixes) {
      if (var.startsWith(old)
          && resolveEnv(c, ENV_PREFIX + var.substring(old.length()), var, value)) {
        return;
      }
    }
    LOG.debug("{} is not a {} setting; ignored", var, process);
  }

  /** Applies {@code var} (named {@code given} in the environment); false when it is not ours. */
  private boolean resolveEnv(ConfigValues.Collector c, String var, String given, String value) {
    String source = "environment " + given;
    Named n = byEnv.get(var);
    if (n != null) {
      String name = n.setting().name();
      put(c, n, value, source);
      if (n.old() != null || !var.equals(given)) {
        c.warn(
            given + " is an old variable name; use " + envName(name) + " (setting " + name + ")");
      }
      return true;
    }
    for (Family f : families) {
      String famEnv = envName(f.prefix().substring(0, f.prefix().length() - 1)) + "_";
      if (var.startsWith(famEnv) && var.length() > famEnv.length()) {
        String rest = f.envToName().apply(var.substring(famEnv.length()));
        if (rest != null) {
          c.put(f.prefix() + rest, value.trim(), source);
          if (!var.equals(given)) {
            c.warn(given + " is an old variable name; use " + var);
          }
          return true;
        }
      }
    }
    return false;
  }

  private void put(ConfigValues.Collector c, Named n, String value, String source) {
    String v = value.trim();
    if (n.old() != null) {
      v = n.old().valueMapper().apply(v);
      c.putOld(n.setting().name(), v, source);
    } else {
      c.put(n.setting().name(), v, source);
    }
    if (n.setting().type().equals("duration") && Durations.isOldForm(v)) {
      c.warn(
          c.namePrefix()
              + n.setting().name()
              + " = "
              + v
              + " ("
              + source
              + ") is ISO-8601; write "
              + Durations.format(Durations.parse(v))
              + " (ISO-8601 is read for one release)");
    }
  }

  /** The family {@code name} belongs to, or null. */
  Family family(String name) {
    for (Family f : families) {
      if (name.startsWith(f.prefix()) && name.length() > f.prefix().length()) {
        return f;
      }
    }
    return null;
  }

  private String suggestion(String name, String prefix) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String known : byAnyName.keySet()) {
      int d = editDistance(name, known);
      if (d < bestDistance) {
        bestDistance = d;
        best = known;
      }
    }
    StringBuilder sb = new StringBuilder();
    if (best != null && bestDistance <= Math.max(2, name.length() / 4)) {
      Named n = byAnyName.get(best);
      sb.append("; did you mean '").append(prefix).append(n.setting().name()).append("'?");
    }
    sb.append(" The ").append(process).append(" settings are listed in the README (Configuration)");
    if (!families.isEmpty()) {
      sb.append("; open families: ");
      sb.append(String.join(", ", families.stream().map(f -> prefix + f.prefix() + "*").toList()));
    }
    return sb.toString();
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /**
   * The settings as a Markdown table (setting, type, default, description), the form the README's
   * configuration section shows; a test keeps the README in step.
   */
  public String markdownTable() {
    return markdownTable("");
  }

  /**
   * The settings as a Markdown table with every name in full, {@code namePrefix} + its name: the
   * table of one member of an open family, e.g. {@code markdownTable("engine.emulated.")} for the
   * options of engine {@code emulated} ({@code engine.emulated.step}).
   */
  public String markdownTable(String namePrefix) {
    StringBuilder sb = new StringBuilder("| Setting | Type | Default | Description |\n");
    sb.append("|---|---|---|---|\n");
    for (Setting<?> s : settings.values()) {
      String doc = s.doc();
      if (s.secret()) {
        doc += " Secret: masked when the configuration is printed.";
      }
      if (!s.oldNames().isEmpty()) {
        doc +=
            " Formerly "
                + String.join(
                    ", ",
                    s.oldNames().stream().map(o -> "`" + namePrefix + o.name() + "`").toList())
                + ".";
      }
      sb.append("| `")
          .append(namePrefix)
          .append(s.name())
          .append("` | ")
          .append(cell(s.type()))
          .append(" | ")
          .append(
              s.defaultValue() == null || s.defaultValue().isEmpty()
                  ? ""
                  : "`" + s.defaultValue() + "`")
          .append(" | ")
          .append(cell(doc.trim()))
          .append(" |\n");
    }
    for (Family f : families) {
      sb.append("| `")
          .append(namePrefix)
          .append(f.prefix())
          .append("*` | | | ")
          .append(cell(f.doc()))
          .append(" |\n");
    }
    return sb.toString();
  }

  private static String cell(String text) {
    return text.replace("|", "\\|").replace("\n", " ");
  }

  /** Declares the settings of one process. */
  public static final class Builder {
    private final String process;
    private final Map<String, Setting<?>> settings = new LinkedHashMap<>();
    private final List<Family> families = new ArrayList<>();
    private final List<String> oldEnvPrefixes = new ArrayList<>();

    private Builder(String process) {
      this.process = Objects.requireNonNull(process, "process");
    }

    public Builder add(Setting<?>... more) {
      for (Setting<?> s : more) {
        if (settings.putIfAbsent(s.name(), s) != null) {
          throw new IllegalStateException("setting declared twice: " + s.name());
        }
      }
      return this;
    }

    /**
     * An open family: every name starting with {@code prefix} (ending in {@code .} or {@code -}) is
     * accepted.
     *
     * @param envToName maps the rest of an environment variable after {@code REELFLOW_<PREFIX>_} to
     *     the rest of the setting name, or null when it is not one
     */
    public Builder family(String prefix, String doc, UnaryOperator<String> envToName) {
      if (!prefix.endsWith(".") && !prefix.endsWith("-")) {
        throw new IllegalArgumentException("a family prefix ends with '.' or '-': " + prefix);
      }
      families.add(new Family(prefix, doc, envToName));
      return this;
    }

    /** An older environment prefix ({@code REELFLOW_WORKER_}) read with a warning. */
    public Builder oldEnvPrefix(String prefix) {
      oldEnvPrefixes.add(prefix);
      return this;
    }

    public ConfigSpec build() {
      return new ConfigSpec(this);
    }
  }
}
