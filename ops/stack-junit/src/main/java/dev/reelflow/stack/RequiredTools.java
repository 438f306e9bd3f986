package dev.reelflow.stack;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need a tool the machine may lack (ffmpeg, Chromium, Node, npm, Python): a missing tool
 * skips the test through a JUnit assumption that says why, never by returning early; and where the
 * switch lists the tool, a missing tool fails the test instead, so a CI run proves that its tool
 * tests ran. The switch is the system property {@value #PROPERTY} or the environment variable
 * {@value #ENV}, a comma-separated list of tool names, e.g. {@code
 * ffmpeg,chromium,node,npm,python3}.
 */
public final class RequiredTools {
  public static final String PROPERTY = "reelflow.require";
  public static final String ENV = "REELFLOW_REQUIRE";

  private RequiredTools() {}

  /**
   * Continues when {@code present}; otherwise skips the test with {@code reason}, or fails it when
   * the switch requires {@code tool}.
   */
  public static void assume(String tool, boolean present, String reason) {
    assume(tool, present, reason, required());
  }

  static void assume(String tool, boolean present, String reason, Set<String> required) {
    if (present) {
      return;
    }
    if (required.contains(tool)) {
      throw new AssertionError(
          tool
              + " is required here ("
              + PROPERTY
              + "/"
              + ENV
              + " = "
              + String.join(",", required)
              + ") but missing: "
              + reason);
    }
    Assumptions.abort("needs " + tool + ": " + reason);
  }

  /** The tools the switch requires (empty when unset). */
  public static Set<String> required() {
    String v = System.getProperty(PROPERTY);
    if (v == null || v.isBlank()) {
      v = System.getenv(ENV);
    }
    return parse(v);
  }

  static Set<String> parse(String list) {
    if (list == null) {
      return Set.of();
    }
    return Arrays.stream(list.split(","))
        .map(String::strip)
        .filter(s -> !s.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
  }

  /** The executable {@code binary} on the PATH, if any. */
  public static Optional<Path> onPath(String binary) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, binary))) {
        return Optional.of(Path.of(d, binary));
      }
    }
    return Optional.empty();
  }
}
