package dev.reelflow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Test support stays out of the runtime: the class paths the build writes for the {@code reelflow}
 * launcher (CLI, workers, ingest, orchestrator) and for the distributed mode's JVMs (brokers,
 * registry, S3, Flink) carry no test library. The JUnit extension lives in {@code
 * reelflow-stack-junit}, a test-scope dependency.
 */
class RuntimeClasspathTest {
  private static final List<String> TEST_LIBRARIES =
      List.of("junit-jupiter", "junit-platform", "opentest4j", "assertj-core", "apiguardian");

  @ParameterizedTest
  @ValueSource(strings = {"../cli/target/classpath.txt", "../stack/target/cluster-classpath.txt"})
  void noTestLibraryOnARuntimeClassPath(String file) throws IOException {
    Path path = Path.of(file);
    assertThat(path)
        .as("written by the module's package phase (mvn -B install -DskipTests builds it)")
        .isRegularFile();
    List<String> jars =
        Arrays.stream(Files.readString(path).strip().split(java.io.File.pathSeparator))
            .map(j -> Path.of(j).getFileName().toString())
            .toList();
    assertThat(jars).as("jars on " + file).hasSizeGreaterThan(10);
    assertThat(jars)
        .as("test libraries on the runtime class path " + file)
        .noneMatch(j -> TEST_LIBRARIES.stream().anyMatch(j::startsWith));
  }
}
