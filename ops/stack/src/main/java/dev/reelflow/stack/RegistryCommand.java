package dev.reelflow.stack;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One change to the registry, as stored in the {@code _schemas} topic. Every instance applies the
 * commands in log order, so all instances (and every restart) compute the same ids and versions.
 *
 * @param type REGISTER, SET_CONFIG, DELETE_CONFIG, DELETE_SUBJECT or DELETE_VERSION
 * @param subject the subject, or null for the global config
 * @param schema the Avro schema text (REGISTER)
 * @param level a compatibility level name (SET_CONFIG)
 * @param version a version, -1 for latest (DELETE_VERSION)
 * @param permanent hard instead of soft delete
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record RegistryCommand(
    String type, String subject, String schema, String level, Integer version, Boolean permanent) {
  static final String REGISTER = "REGISTER";
  static final String SET_CONFIG = "SET_CONFIG";
  static final String DELETE_CONFIG = "DELETE_CONFIG";
  static final String DELETE_SUBJECT = "DELETE_SUBJECT";
  static final String DELETE_VERSION = "DELETE_VERSION";

  static RegistryCommand register(String subject, String schema) {
    return new RegistryCommand(REGISTER, subject, schema, null, null, null);
  }

  static RegistryCommand setConfig(String subject, CompatibilityLevel level) {
    return new RegistryCommand(SET_CONFIG, subject, null, level.name(), null, null);
  }

  static RegistryCommand deleteConfig(String subject) {
    return new RegistryCommand(DELETE_CONFIG, subject, null, null, null, null);
  }

  static RegistryCommand deleteSubject(String subject, boolean permanent) {
    return new RegistryCommand(DELETE_SUBJECT, subject, null, null, null, permanent);
  }

  static RegistryCommand deleteVersion(String subject, int version, boolean permanent) {
    return new RegistryCommand(DELETE_VERSION, subject, null, null, version, permanent);
  }

  boolean isPermanent() {
    return Boolean.TRUE.equals(permanent);
  }
}
