package dev.reelflow.orchestrator;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.streaming.api.graph.StreamGraphHasherV2;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the checkpoint a restarted orchestrator resumes from: the newest completed, readable,
 * retained checkpoint of the same job under a checkpoint directory ({@code
 * <dir>/<jobId>/chk-<n>/_metadata}, as Flink writes them). Every restart gets a new job id, so all
 * job folders under the directory are searched; the newest {@code _metadata} wins.
 *
 * <p>A checkpoint counts only when its {@code _metadata} exists, parses, and names the operators of
 * this job (by their uids). A newer one that fails (cut off by a kill, corrupt, another job's) is
 * skipped with a warning and the previous one is tried, which is why the job retains several.
 */
public final class RetainedCheckpoints {
  private static final Logger LOG = LoggerFactory.getLogger(RetainedCheckpoints.class);
  private static final String METADATA = "_metadata";
  private static final String CHK_PREFIX = "chk-";

  /**
   * A usable retained checkpoint.
   *
   * @param path the {@code chk-N} directory (what {@code execution.state-recovery.path} takes)
   * @param checkpointId N
   * @param jobId the folder of the job that wrote it
   * @param skipped newer checkpoints that were not usable, each with the reason
   */
  public record Found(String path, long checkpointId, String jobId, List<String> skipped) {
    public Found {
      skipped = List.copyOf(skipped);
    }
  }

  private RetainedCheckpoints() {}

  /**
   * The newest usable checkpoint under {@code checkpointDir} (a Flink file system URI such as
   * {@code file:///...} or {@code s3://...}) whose metadata holds state of every operator uid in
   * {@code requiredUids}; empty when there is none (first start, or every one unusable).
   */
  public static Optional<Found> latest(String checkpointDir, Collection<String> requiredUids)
      throws IOException {
    Objects.requireNonNull(checkpointDir, "checkpointDir");
    Path root = new Path(checkpointDir);
    FileSystem fs = root.getFileSystem();
    if (!fs.exists(root)) {
      return Optional.empty();
    }
    List<Candidate> candidates = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (FileStatus job : list(fs, root)) {
      if (!job.isDir()) {
        continue;
      }
      for (FileStatus chk : list(fs, job.getPath())) {
        String name = chk.getPath().getName();
        if (!chk.isDir() || !name.startsWith(CHK_PREFIX)) {
          continue;
        }
        long id;
        try {
          id = Long.parseLong(name.substring(CHK_PREFIX.length()));
        } catch (NumberFormatException e) {
          continue;
        }
        Path metadata = new Path(chk.getPath(), METADATA);
        if (!fs.exists(metadata)) {
          // Flink writes _metadata last: a folder without one was cut off mid-checkpoint.
          candidates.add(
              new Candidate(
                  chk.getPath(), id, job.getPath().getName(), chk.getModificationTime(), false));
          continue;
        }
        long mtime = fs.getFileStatus(metadata).getModificationTime();
        candidates.add(new Candidate(chk.getPath(), id, job.getPath().getName(), mtime, true));
      }
    }
    // Newest first: by the time the metadata (or, for a cut-off one, the folder) was written,
    // then by checkpoint id.
    candidates.sort(
        Comparator.comparingLong(Candidate::mtime).thenComparingLong(Candidate::id).reversed());
    Set<OperatorID> required = new HashSet<>();
    for (String uid : requiredUids) {
      required.add(new OperatorID(StreamGraphHasherV2.generateUserSpecifiedHash(uid)));
    }
    for (Candidate c : candidates) {
      Optional<String> problem = !c.complete ? Optional.of("no _metadata") : check(fs, c, required);
      if (problem.isEmpty()) {
        return Optional.of(new Found(c.path.toString(), c.id, c.jobId, skipped));
      }
      String why = c.path + ": " + problem.get();
      skipped.add(why);
      LOG.warn(
          "retained checkpoint {} is not usable ({}); falling back to the previous one",
          c.path,
          problem.get());
    }
    return Optional.empty();
  }

  /** Empty when the metadata parses and holds every required operator; the reason otherwise. */
  private static Optional<String> check(FileSystem fs, Candidate c, Set<OperatorID> required) {
    Path metadata = new Path(c.path, METADATA);
    try (InputStream in = fs.open(metadata);
        DataInputStream data = new DataInputStream(in)) {
      CheckpointMetadata m =
          Checkpoints.loadCheckpointMetadata(
              data, RetainedCheckpoints.class.getClassLoader(), c.path.toString());
      Set<OperatorID> present = new HashSet<>();
      for (OperatorState s : m.getOperatorStates()) {
        present.add(s.getOperatorID());
      }
      Set<OperatorID> missing = new HashSet<>(required);
      missing.removeAll(present);
      if (!missing.isEmpty()) {
        return Optional.of(
            "it holds no state of this job's operators "
                + missing
                + " (another job's checkpoint?)");
      }
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.of("unreadable _metadata: " + e.getMessage());
    }
  }

  private static FileStatus[] list(FileSystem fs, Path dir) throws IOException {
    FileStatus[] s = fs.listStatus(dir);
    return s == null ? new FileStatus[0] : s;
  }

  private record Candidate(Path path, long id, String jobId, long mtime, boolean complete) {}
}
