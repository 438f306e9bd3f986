package dev.reelflow.stack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompletedCheckpointsTest {
  @TempDir Path dir;

  private void checkpoint(String job, int n, boolean complete) throws Exception {
    Path chk = Files.createDirectories(dir.resolve(job).resolve("chk-" + n));
    if (complete) {
      Files.write(chk.resolve("_metadata"), new byte[] {1});
    }
  }

  @Test
  void onlyFoldersWithMetadataAreCompleted() throws Exception {
    assertThat(CompletedCheckpoints.of(dir.resolve("missing"))).isEmpty();
    checkpoint("job-a", 1, true);
    checkpoint("job-a", 2, false); // cut off, or still being written
    Files.createDirectories(dir.resolve("job-a/shared"));
    assertThat(CompletedCheckpoints.of(dir)).containsExactly("job-a/chk-1");
  }

  @Test
  void waitsForNewCompletedCheckpointsOfAnyJob() throws Exception {
    checkpoint("job-a", 1, true);
    CompletableFuture<Void> writer =
        CompletableFuture.runAsync(
            () -> {
              try {
                Thread.sleep(100);
                checkpoint("job-a", 2, false);
                checkpoint("job-b", 1, true); // a job started afresh counts from 1 again
                Thread.sleep(100);
                checkpoint("job-a", 2, true);
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    CompletedCheckpoints.awaitNew(dir, 2, Duration.ofSeconds(20));
    assertThat(CompletedCheckpoints.of(dir))
        .containsExactlyInAnyOrder("job-a/chk-1", "job-a/chk-2", "job-b/chk-1");
    writer.join();
  }

  @Test
  void failsNamingTheFolderWhenNoneCompletes() throws Exception {
    checkpoint("job-a", 1, true);
    checkpoint("job-a", 2, false);
    assertThatThrownBy(() -> CompletedCheckpoints.awaitNew(dir, 1, Duration.ofMillis(300)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("job-a/chk-1");
  }
}
