package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.reelflow.stack.RequiredTools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The README's consumer guide shows the code the tests run: each code block marked {@code <!--
 * file: PATH -->} is that file byte for byte (NodeConsumerIT runs the Node script and the Java
 * class against a live pipeline). The Python example, whose package (confluent-kafka with Avro) the
 * build machines cannot install, is valid Python, and its own logic runs here against a stand-in
 * for that package (src/test/python/stand_in) replaying fixed records; NodeConsumerIT runs it
 * against the live pipeline where the package imports.
 */
class ConsumerGuideTest {
  private static final Logger LOG = LoggerFactory.getLogger(ConsumerGuideTest.class);
  static final Path ROOT = Path.of(System.getProperty("reelflow.repo.root", "../.."));
  static final Pattern BLOCK =
      Pattern.compile("<!-- file: (\\S+) -->\\n```[a-z]*\\n(.*?)```\\n", Pattern.DOTALL);

  static Map<String, String> blocks() throws IOException {
    String readme = Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    Map<String, String> blocks = new LinkedHashMap<>();
    Matcher m = BLOCK.matcher(readme);
    while (m.find()) {
      blocks.put(m.group(1), m.group(2));
    }
    return blocks;
  }

  @Test
  void theGuidesCodeIsTheTestedFiles() throws IOException {
    Map<String, String> blocks = blocks();
    assertThat(blocks.keySet())
        .containsExactly(
            "ops/e2e/src/test/node/reelflow-events.mjs",
            "ops/e2e/src/test/java/dev/reelflow/e2e/guide/RenderEventsReader.java",
            "ops/e2e/src/test/python/reelflow_events.py");
    for (Map.Entry<String, String> b : blocks.entrySet()) {
      String file = Files.readString(ROOT.resolve(b.getKey()), StandardCharsets.UTF_8);
      assertThat(b.getValue())
          .as("README's code block for %s (copy the file into the README)", b.getKey())
          .isEqualTo(file);
    }
  }

  @Test
  void thePythonExampleIsValidPython() throws Exception {
    Path script = ROOT.resolve("ops/e2e/src/test/python/reelflow_events.py");
    RequiredTools.assume(
        "python3",
        RequiredTools.onPath("python3").isPresent(),
        "python3 is not on the PATH: the Python example's syntax is checked with it");
    Process p =
        new ProcessBuilder(
                "python3",
                "-c",
                "import ast, sys; ast.parse(open(sys.argv[1], encoding='utf-8').read())",
                script.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(Files.readString(script)).contains("\"isolation.level\": \"read_committed\"");
    Process broken =
        new ProcessBuilder("python3", "-c", "import ast; ast.parse('def f(:')")
            .redirectErrorStream(true)
            .start();
    broken.getInputStream().readAllBytes();
    assertThat(broken.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(broken.exitValue()).as("the check fails on invalid Python").isNotZero();
  }

  @Test
  void thePythonExampleKeepsTheNewestStatusAndTheLineageOfEachRenderOnAStandInPackage()
      throws Exception {
    RequiredTools.assume(
        "python3",
        RequiredTools.onPath("python3").isPresent(),
        "python3 is not on the PATH: the Python example's logic runs with it");
    Path python = ROOT.resolve("ops/e2e/src/test/python").toAbsolutePath();
    // Out of version order on purpose, over two partitions, with a tombstone.
    String records =
        """
        {"render.status": [
          [0, "r-1", "{\\"state\\": \\"QUEUED\\", \\"seed\\": 5, \\"version\\": 1}"],
          [0, "r-1", "{\\"state\\": \\"SUCCEEDED\\", \\"seed\\": 5, \\"version\\": 3}"],
          [1, "r-2", "{\\"state\\": \\"RENDERING\\", \\"seed\\": 7, \\"version\\": 2}"],
          [0, "r-1", "{\\"state\\": \\"RENDERING\\", \\"seed\\": 5, \\"version\\": 2}"],
          [1, "r-2", "{\\"state\\": \\"QUEUED\\", \\"seed\\": 7, \\"version\\": 1}"],
          [1, "r-3", null]],
         "render.lineage": [
          [0, "r-1", "{\\"eventType\\": \\"START\\"}"],
          [0, "r-1", "{\\"eventType\\": \\"COMPLETE\\"}"]]}
        """;
    Path file = Files.createTempFile("reelflow-stand-in-records", ".json");
    try {
      Files.writeString(file, records);
      ProcessBuilder pb =
          new ProcessBuilder(
                  "python3",
                  python.resolve("reelflow_events.py").toString(),
                  "localhost:9092",
                  "http://localhost:8081")
              .redirectErrorStream(true);
      pb.environment().put("PYTHONPATH", python.resolve("stand_in").toString());
      pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
      pb.environment().put("REELFLOW_STAND_IN_RECORDS", file.toString());
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(out).isZero();
      assertThat(out.lines().sorted())
          .containsExactly(
              "r-1 SUCCEEDED (final) seed=5 version=3 lineage=['START', 'COMPLETE']",
              "r-2 RENDERING seed=7 version=2 lineage=[]");
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
