package dev.reelflow.stack;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.avro.Schema;

/**
 * The registry's data as a deterministic state machine over {@link RegistryCommand}s. Ids are
 * allocated in log order (the first registration of a schema text anywhere gets the next id), so
 * instances that read the same log agree on every id, even when they accepted registrations
 * concurrently. Not thread-safe: callers synchronize.
 */
final class SchemaRegistryState {
  /** Result of a REGISTER command. */
  record Registered(int id, int version) {}

  /** One subject version as the API shows it. */
  record VersionView(String subject, int version, int id, String schema) {}

  private static final class Version {
    final int version;
    final int id;
    boolean deleted;

    Version(int version, int id) {
      this.version = version;
      this.id = id;
    }
  }

  private static final class Subject {
    final TreeMap<Integer, Version> versions = new TreeMap<>();
    CompatibilityLevel level;
    int maxVersion;

    List<Version> live() {
      return versions.values().stream().filter(v -> !v.deleted).toList();
    }
  }

  private final Map<Integer, String> schemaById = new TreeMap<>();
  private final Map<String, Integer> idBySchema = new HashMap<>();
  private final Map<Integer, Schema> parsedById = new HashMap<>();
  private final TreeMap<String, Subject> subjects = new TreeMap<>();
  private CompatibilityLevel global;
  private int nextId = 1;

  SchemaRegistryState(CompatibilityLevel defaultLevel) {
    this.global = defaultLevel;
  }

  /** Parses Avro schema text; invalid text is Confluent's 42201. */
  static Schema parse(String text) throws RegistryException {
    if (text == null || text.isBlank()) {
      throw RegistryException.invalidSchema("(empty): the request needs a \"schema\" field");
    }
    try {
      return new Schema.Parser().parse(text);
    } catch (RuntimeException e) {
      throw RegistryException.invalidSchema(e.getMessage());
    }
  }

  /**
   * Applies a command from the log and returns its result (Registered, a version list, a version,
   * or a level). A command that fails leaves the state unchanged and throws the error that its
   * requester gets.
   */
  Object apply(RegistryCommand c) throws RegistryException {
    switch (c.type()) {
      case RegistryCommand.REGISTER:
        return register(c.subject(), c.schema());
      case RegistryCommand.SET_CONFIG:
        CompatibilityLevel level = CompatibilityLevel.parse(c.level());
        if (c.subject() == null) {
          global = level;
        } else {
          subjects.computeIfAbsent(c.subject(), s -> new Subject()).level = level;
        }
        return level;
      case RegistryCommand.DELETE_CONFIG:
        {
          Subject s = subjects.get(c.subject());
          CompatibilityLevel old = s == null ? null : s.level;
          if (old == null) {
            throw subjectLevelNotConfigured(c.subject());
          }
          s.level = null;
          return old;
        }
      case RegistryCommand.DELETE_SUBJECT:
        return deleteSubject(c.subject(), c.isPermanent());
      case RegistryCommand.DELETE_VERSION:
        return deleteVersion(c.subject(), c.version(), c.isPermanent());
      default:
        throw RegistryException.storeError("unknown command type " + c.type());
    }
  }

  private Registered register(String subject, String text) throws RegistryException {
    Schema schema = parse(text);
    String canonical = schema.toString();
    Subject s = subjects.get(subject);
    List<Schema> previous = new ArrayList<>();
    if (s != null) {
      for (Version v : s.live()) {
        if (schemaById.get(v.id).equals(canonical)) {
          return new Registered(v.id, v.version);
        }
        previous.add(parsedById.get(v.id));
      }
    }
    List<String> problems = effectiveLevel(subject).incompatibilities(schema, previous);
    if (!problems.isEmpty()) {
      throw RegistryException.incompatible(subject, problems);
    }
    Integer id = idBySchema.get(canonical);
    if (id == null) {
      id = nextId++;
      idBySchema.put(canonical, id);
      schemaById.put(id, canonical);
      parsedById.put(id, schema);
    }
    Subject target = subjects.computeIfAbsent(subject, k -> new Subject());
    int version = ++target.maxVersion;
    target.versions.put(version, new Version(version, id));
    return new Registered(id, version);
  }

  private List<Integer> deleteSubject(String subject, boolean permanent) throws RegistryException {
    Subject s = subjects.get(subject);
    if (s == null || s.versions.isEmpty()) {
      throw RegistryException.subjectNotFound(subject);
    }
    List<Version> live = s.live();
    if (permanent) {
      if (!live.isEmpty()) {
        throw new RegistryException(
            404,
            RegistryException.SUBJECT_NOT_SOFT_DELETED,
            "Subject '" + subject + "' was not deleted first before being permanently deleted");
      }
      List<Integer> all = new ArrayList<>(s.versions.keySet());
      subjects.remove(subject);
      return all;
    }
    if (live.isEmpty()) {
      throw new RegistryException(
          404,
          RegistryException.SUBJECT_SOFT_DELETED,
          "Subject '" + subject + "' was soft deleted. Set permanent=true to delete permanently");
    }
    live.forEach(v -> v.deleted = true);
    return live.stream().map(v -> v.version).toList();
  }

  private int deleteVersion(String subject, int version, boolean permanent)
      throws RegistryException {
    Subject s = subjects.get(subject);
    if (s == null || s.versions.isEmpty()) {
      throw RegistryException.subjectNotFound(subject);
    }
    Version v;
    if (version == -1) {
      List<Version> live = s.live();
      v = live.isEmpty() ? null : live.get(live.size() - 1);
    } else {
      v = s.versions.get(version);
    }
    if (v == null) {
      throw RegistryException.versionNotFound(version == -1 ? "latest" : version);
    }
    if (permanent) {
      if (!v.deleted) {
        throw new RegistryException(
            404,
            RegistryException.VERSION_NOT_SOFT_DELETED,
            "Subject '"
                + subject
                + "' Version "
                + v.version
                + " was not deleted first before being permanently deleted");
      }
      s.versions.remove(v.version);
    } else {
      if (v.deleted) {
        throw new RegistryException(
            404,
            RegistryException.VERSION_SOFT_DELETED,
            "Subject '"
                + subject
                + "' Version "
                + v.version
                + " was soft deleted. Set permanent=true to delete permanently");
      }
      v.deleted = true;
    }
    return v.version;
  }

  // ---- queries -------------------------------------------------------------------------

  List<String> subjects(boolean includeDeleted) {
    List<String> out = new ArrayList<>();
    subjects.forEach(
        (name, s) -> {
          if (includeDeleted ? !s.versions.isEmpty() : !s.live().isEmpty()) {
            out.add(name);
          }
        });
    return out;
  }

  List<Integer> versions(String subject, boolean includeDeleted) throws RegistryException {
    Subject s = subjects.get(subject);
    List<Integer> out = new ArrayList<>();
    if (s != null) {
      s.versions.values().stream()
          .filter(v -> includeDeleted || !v.deleted)
          .forEach(v -> out.add(v.version));
    }
    if (out.isEmpty()) {
      throw RegistryException.subjectNotFound(subject);
    }
    return out;
  }

  /** A version of a subject; {@code version} -1 means the latest live one. */
  VersionView version(String subject, int version, boolean includeDeleted)
      throws RegistryException {
    Subject s = subjects.get(subject);
    if (s == null || (includeDeleted ? s.versions.isEmpty() : s.live().isEmpty())) {
      throw RegistryException.subjectNotFound(subject);
    }
    Version v;
    if (version == -1) {
      List<Version> candidates = includeDeleted ? new ArrayList<>(s.versions.values()) : s.live();
      v = candidates.get(candidates.size() - 1);
    } else {
      v = s.versions.get(version);
      if (v != null && v.deleted && !includeDeleted) {
        v = null;
      }
    }
    if (v == null) {
      throw RegistryException.versionNotFound(version == -1 ? "latest" : version);
    }
    return new VersionView(subject, v.version, v.id, schemaById.get(v.id));
  }

  boolean hasSchemaId(int id) {
    return schemaById.containsKey(id);
  }

  String schemaById(int id) throws RegistryException {
    String schema = schemaById.get(id);
    if (schema == null) {
      throw RegistryException.schemaNotFound("Schema " + id + " not found");
    }
    return schema;
  }

  /** Every subject version that uses schema {@code id}. */
  List<VersionView> usesOf(int id) throws RegistryException {
    String schema = schemaById(id);
    List<VersionView> out = new ArrayList<>();
    subjects.forEach(
        (name, s) ->
            s.versions.values().stream()
                .filter(v -> v.id == id && !v.deleted)
                .forEach(v -> out.add(new VersionView(name, v.version, id, schema))));
    return out;
  }

  /** The live (or any) version of {@code subject} whose schema equals {@code text}. */
  VersionView lookup(String subject, String text, boolean includeDeleted) throws RegistryException {
    Schema schema = parse(text);
    Subject s = subjects.get(subject);
    if (s == null || (includeDeleted ? s.versions.isEmpty() : s.live().isEmpty())) {
      throw RegistryException.subjectNotFound(subject);
    }
    String canonical = schema.toString();
    for (Version v : s.versions.descendingMap().values()) {
      if ((includeDeleted || !v.deleted) && schemaById.get(v.id).equals(canonical)) {
        return new VersionView(subject, v.version, v.id, canonical);
      }
    }
    throw RegistryException.schemaNotFound("Schema not found");
  }

  /**
   * Why {@code text} could not be registered under {@code subject} now ({@code version} null), or
   * why it is incompatible with one given version (-1: latest). A subject without versions accepts
   * anything when asked about "latest" or all versions.
   */
  List<String> compatibilityProblems(String subject, Integer version, String text)
      throws RegistryException {
    Schema schema = parse(text);
    CompatibilityLevel level = effectiveLevel(subject);
    Subject s = subjects.get(subject);
    List<Version> live = s == null ? List.of() : s.live();
    if (version == null || (version == -1 && live.isEmpty())) {
      List<Schema> previous = live.stream().map(v -> parsedById.get(v.id)).toList();
      return level.incompatibilities(schema, previous);
    }
    VersionView v = version(subject, version, false);
    return level.incompatibilities(schema, List.of(parsedById.get(v.id())));
  }

  CompatibilityLevel globalLevel() {
    return global;
  }

  /** The subject's own level, or null when it has none. */
  CompatibilityLevel subjectLevel(String subject) {
    Subject s = subjects.get(subject);
    return s == null ? null : s.level;
  }

  CompatibilityLevel effectiveLevel(String subject) {
    CompatibilityLevel own = subjectLevel(subject);
    return own != null ? own : global;
  }

  static RegistryException subjectLevelNotConfigured(String subject) {
    return new RegistryException(
        404,
        RegistryException.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
        "Subject '" + subject + "' does not have subject-level compatibility configured");
  }
}
