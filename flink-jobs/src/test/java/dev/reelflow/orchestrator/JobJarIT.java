package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The shaded job jar (classifier {@code job}) carries what the job needs beyond Flink itself: a
 * class loader that sees only the jar, SLF4J (which the cluster provides) and the JDK builds the
 * artifact store the schedule-source reader opens, and loads the job's entry class. A dependency
 * missing from the shade plugin's includes fails here, not on a cluster.
 */
class JobJarIT {
  @Test
  void theJobJarHoldsTheArtifactStoreAndItsClient() throws Exception {
    Path jar = jobJar();
    URL slf4j = org.slf4j.Logger.class.getProtectionDomain().getCodeSource().getLocation();
    try (URLClassLoader loader =
        new URLClassLoader(
            new URL[] {jar.toUri().toURL(), slf4j}, ClassLoader.getPlatformClassLoader())) {
      Class<?> storeType = loader.loadClass("dev.reelflow.storage.ArtifactStore");
      assertThat(storeType.getClassLoader()).isSameAs(loader);
      Object builder = storeType.getMethod("builder").invoke(null);
      Class<?> b = builder.getClass();
      b.getMethod("endpoint", String.class).invoke(builder, "http://127.0.0.1:9");
      b.getMethod("credentials", String.class, String.class).invoke(builder, "key", "secret");
      b.getMethod("region", String.class).invoke(builder, "us-east-1");
      b.getMethod("bucket", String.class).invoke(builder, "reelflow");
      try (AutoCloseable store = (AutoCloseable) b.getMethod("build").invoke(builder)) {
        assertThat(store.getClass().getName()).isEqualTo("dev.reelflow.storage.MinioArtifactStore");
      }
      assertThat(loader.loadClass("io.minio.MinioClient").getClassLoader()).isSameAs(loader);
    }
  }

  private static Path jobJar() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("target"))) {
      List<Path> jars = files.filter(p -> p.getFileName().toString().endsWith("-job.jar")).toList();
      assertThat(jars).as("the shaded job jar in target/ (built at package)").hasSize(1);
      return jars.get(0);
    }
  }
}
