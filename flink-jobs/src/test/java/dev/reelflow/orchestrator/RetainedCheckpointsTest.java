package dev.reelflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.KeyGroupRangeOffsets;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.streaming.api.graph.StreamGraphHasherV2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retained checkpoints written the way Flink writes them ({@code <dir>/<job>/chk-N/_metadata},
 * keyed state in a file beside it): the search skips a checkpoint whose metadata reads but whose
 * state file is gone, and pruning keeps only the folder of the job in use.
 */
class RetainedCheckpointsTest {
  private static final String UID = "render-lifecycle";
  private static final String OLD_JOB = "0000000000000000000000000000000a";
  private static final String NEW_JOB = "0000000000000000000000000000000b";

  @TempDir Path dir;

  @Test
  void aCheckpointWhoseStateFileIsMissingIsSkippedForTheNextOlderUsableOne() throws Exception {
    Path older = checkpoint(OLD_JOB, 4, Instant.parse("2026-01-01T10:00:00Z"));
    Path newer = checkpoint(NEW_JOB, 7, Instant.parse("2026-01-01T10:05:00Z"));
    // Both read; the newest is chosen while its state file is there.
    assertThat(latest()).map(RetainedCheckpoints.Found::checkpointId).contains(7L);

    Files.delete(newer.resolve("state-0"));
    Optional<RetainedCheckpoints.Found> found = latest();

    assertThat(found).isPresent();
    assertThat(found.get().checkpointId()).isEqualTo(4);
    assertThat(found.get().jobId()).isEqualTo(OLD_JOB);
    assertThat(Path.of(java.net.URI.create(found.get().path()))).isEqualTo(older);
    assertThat(found.get().skipped())
        .singleElement()
        .satisfies(
            s ->
                assertThat(s)
                    .contains("chk-7")
                    .contains("state file")
                    .contains("state-0")
                    .contains("missing"));
  }

  @Test
  void noCheckpointIsChosenWhenEveryStateFileIsGone() throws Exception {
    Path only = checkpoint(OLD_JOB, 3, Instant.parse("2026-01-01T10:00:00Z"));
    Files.delete(only.resolve("state-0"));
    assertThat(latest()).isEmpty();
  }

  @Test
  void pruningDeletesTheFoldersOfOtherJobsOnly() throws Exception {
    checkpoint(OLD_JOB, 4, Instant.parse("2026-01-01T10:00:00Z"));
    Path current = checkpoint(NEW_JOB, 1, Instant.parse("2026-01-01T10:05:00Z"));
    Path unrelated = Files.createDirectories(dir.resolve("not-a-job"));

    List<String> deleted = RetainedCheckpoints.pruneOtherJobs(dir.toUri().toString(), NEW_JOB);

    assertThat(deleted).singleElement().satisfies(d -> assertThat(d).endsWith(OLD_JOB));
    assertThat(dir.resolve(OLD_JOB)).doesNotExist();
    assertThat(current.resolve("_metadata")).exists();
    assertThat(unrelated).exists();
    assertThat(latest()).map(RetainedCheckpoints.Found::jobId).contains(NEW_JOB);
    // Nothing left to prune the second time.
    assertThat(RetainedCheckpoints.pruneOtherJobs(dir.toUri().toString(), NEW_JOB)).isEmpty();
  }

  private Optional<RetainedCheckpoints.Found> latest() throws Exception {
    return RetainedCheckpoints.latest(dir.toUri().toString(), List.of(UID));
  }

  /**
   * {@code dir/<job>/chk-<id>/_metadata} naming the operator {@link #UID} whose keyed state lives
   * in the file {@code state-0} beside it; the metadata's modification time is {@code at}.
   */
  private Path checkpoint(String job, long id, Instant at) throws Exception {
    Path chk = Files.createDirectories(dir.resolve(job).resolve("chk-" + id));
    Path stateFile = Files.write(chk.resolve("state-0"), new byte[] {1, 2, 3, 4});
    OperatorID op = new OperatorID(StreamGraphHasherV2.generateUserSpecifiedHash(UID));
    OperatorState state = new OperatorState(null, UID, op, 1, 128);
    state.putState(
        0,
        OperatorSubtaskState.builder()
            .setManagedKeyedState(
                new KeyGroupsStateHandle(
                    new KeyGroupRangeOffsets(0, 127),
                    new FileStateHandle(new org.apache.flink.core.fs.Path(stateFile.toUri()), 4)))
            .build());
    Path metadata = chk.resolve("_metadata");
    try (OutputStream out = Files.newOutputStream(metadata);
        DataOutputStream data = new DataOutputStream(out)) {
      Checkpoints.storeCheckpointMetadata(
          new CheckpointMetadata(id, List.of(state), List.of()), data);
    }
    Files.setLastModifiedTime(metadata, FileTime.from(at));
    return chk;
  }
}
