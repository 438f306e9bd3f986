package dev.reelflow.engine.sr;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Typed access to a parsed config.json with the checks every component config makes. */
final class ConfigKeys {
  private final String owner;
  private final Map<String, ?> json;

  /**
   * Fails, naming the keys, when {@code json} has a key (other than '_...') that {@code allowed}
   * lacks or misses one of {@code required}.
   */
  ConfigKeys(String owner, Map<String, ?> json, Set<String> allowed, Set<String> required) {
    this.owner = owner;
    this.json = json;
    List<String> unknown = new ArrayList<>();
    for (String k : json.keySet()) {
      if (!k.startsWith("_") && !allowed.contains(k)) {
        unknown.add(k);
      }
    }
    List<String> missing = new ArrayList<>();
    for (String k : required) {
      if (json.get(k) == null) {
        missing.add(k);
      }
    }
    if (!unknown.isEmpty() || !missing.isEmpty()) {
      throw new IllegalArgumentException(
          owner
              + " config: "
              + (unknown.isEmpty() ? "" : "unknown keys " + unknown.stream().sorted().toList())
              + (unknown.isEmpty() || missing.isEmpty() ? "" : "; ")
              + (missing.isEmpty() ? "" : "missing keys " + missing.stream().sorted().toList()));
    }
  }

  int integer(String key) {
    Object v = json.get(key);
    if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return Math.toIntExact(n.longValue());
    }
    throw new IllegalArgumentException(owner + " config: " + key + " must be an integer");
  }

  int[] integers(String key) {
    if (!(json.get(key) instanceof List<?> l)) {
      throw new IllegalArgumentException(owner + " config: " + key + " must be a list");
    }
    int[] out = new int[l.size()];
    for (int i = 0; i < out.length; i++) {
      if (!(l.get(i) instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
        throw new IllegalArgumentException(owner + " config: " + key + " must hold integers");
      }
      out[i] = Math.toIntExact(n.longValue());
    }
    return out;
  }

  boolean bool(String key) {
    if (json.get(key) instanceof Boolean b) {
      return b;
    }
    throw new IllegalArgumentException(owner + " config: " + key + " must be true or false");
  }
}
