package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The repository explains itself: code and docs cite {@code ARCHITECTURE.md} (its numbered
 * decisions and its sections), never a design document outside the repository, and every cited
 * decision exists.
 */
class ArchitectureCitationsTest {
  private static final Path ROOT = Path.of("..", "..").toAbsolutePath().normalize();
  private static final Set<String> SKIPPED_DIRS =
      Set.of("target", "node_modules", ".git", ".reelflow", "bench-results", "reelflow-outputs");
  private static final Set<String> TEXT_SUFFIXES =
      Set.of(
          ".java",
          ".xml",
          ".md",
          ".avsc",
          ".mjs",
          ".js",
          ".ts",
          ".py",
          ".sh",
          ".yaml",
          ".yml",
          ".properties",
          ".html",
          ".css");
  private static final Pattern OUTSIDE = Pattern.compile("DESIGN(\\.md)?\\s*(§|\\d)|DESIGN\\.md");
  private static final Pattern DECISION =
      Pattern.compile("ARCHITECTURE\\.md,\\s+decisions?\\s+(\\d+)");
  private static final Pattern SECTION = Pattern.compile("ARCHITECTURE\\.md, \"([^\"]+)\"");

  private static final List<Path> files = new ArrayList<>();
  private static String architecture;

  @BeforeAll
  static void readTree() throws IOException {
    Path doc = ROOT.resolve("ARCHITECTURE.md");
    assertThat(doc).as("ARCHITECTURE.md at the repository root").isRegularFile();
    architecture = Files.readString(doc);
    try (Stream<Path> walk = Files.walk(ROOT)) {
      walk.filter(Files::isRegularFile)
          .filter(p -> ROOT.relativize(p).getNameCount() > 0)
          .filter(p -> !skipped(ROOT.relativize(p)))
          .filter(p -> TEXT_SUFFIXES.stream().anyMatch(s -> p.toString().endsWith(s)))
          .forEach(files::add);
    }
    assertThat(files).as("source files under the repository root").hasSizeGreaterThan(100);
  }

  private static boolean skipped(Path relative) {
    for (Path part : relative) {
      if (SKIPPED_DIRS.contains(part.toString())) {
        return true;
      }
    }
    // Released schemas are frozen copies of what shipped; their docs are history.
    return relative.startsWith(Path.of("schemas", "src", "test", "resources", "released"));
  }

  @Test
  void noFileCitesADesignDocumentOutsideTheRepository() throws IOException {
    List<String> hits = new ArrayList<>();
    for (Path f : files) {
      String text = read(f);
      if (text == null || f.endsWith(Path.of("ArchitectureCitationsTest.java"))) {
        continue;
      }
      String[] lines = text.split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        if (OUTSIDE.matcher(lines[i]).find()) {
          hits.add(ROOT.relativize(f) + ":" + (i + 1) + ": " + lines[i].strip());
        }
      }
    }
    assertThat(hits).as("cite ARCHITECTURE.md (a decision number or a section) instead").isEmpty();
  }

  @Test
  void everyCitedDecisionAndSectionExists() throws IOException {
    Set<Integer> decisions = new TreeSet<>();
    Matcher numbered = Pattern.compile("(?m)^(\\d+)\\. \\*\\*").matcher(architecture);
    while (numbered.find()) {
      decisions.add(Integer.parseInt(numbered.group(1)));
    }
    assertThat(decisions).as("numbered decisions in ARCHITECTURE.md").hasSizeGreaterThan(10);
    Set<String> sections = new TreeSet<>();
    Matcher heading = Pattern.compile("(?m)^##+ (.+)$").matcher(architecture);
    while (heading.find()) {
      sections.add(heading.group(1).strip());
    }

    List<String> dangling = new ArrayList<>();
    int citations = 0;
    for (Path f : files) {
      String text = read(f);
      if (text == null || f.endsWith(Path.of("ArchitectureCitationsTest.java"))) {
        continue;
      }
      String flat = text.replaceAll("\\s*\\n\\s*(\\*|//|#|<!--)?\\s*", " ");
      Matcher d = DECISION.matcher(flat);
      while (d.find()) {
        citations++;
        if (!decisions.contains(Integer.parseInt(d.group(1)))) {
          dangling.add(ROOT.relativize(f) + ": decision " + d.group(1));
        }
      }
      Matcher s = SECTION.matcher(flat);
      while (s.find()) {
        citations++;
        if (!sections.contains(s.group(1))) {
          dangling.add(ROOT.relativize(f) + ": section \"" + s.group(1) + "\"");
        }
      }
    }
    assertThat(citations).as("citations of ARCHITECTURE.md in the code").isGreaterThan(5);
    assertThat(dangling).as("citations of decisions or sections ARCHITECTURE.md lacks").isEmpty();
  }

  private static String read(Path f) throws IOException {
    try {
      return Files.readString(f, StandardCharsets.UTF_8);
    } catch (MalformedInputException e) {
      return null;
    }
  }
}
