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
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.AbstractChannelStateHandle;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.OperatorStreamStateHandle;
import org.apache.flink.runtime.state.StateObject;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.streaming.api.graph.StreamGraphHasherV2;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the checkpoint a restarted orchestrator resumes from: the newest completed, readable,
 * retained checkpoint of the same job under a checkpoint directory ({@code
 * <dir>/<jobId>/chk-<n>/_metadata}, as Flink writes them). Every restart gets a new job id, so all
 * job folders under the directory are searched; the newest {@code _metadata} wins.
 *
 * <p>A checkpoint counts only when its {@code _metadata} exists, parses, names the operators of
 * this job (by their uids), and every state file it refers to exists (state small enough to be
 * inlined in {@code _metadata} needs no file). A newer one that fails (cut off by a kill, corrupt,
 * another job's, state files deleted) is skipped with a warning and the previous one is tried,
 * which is why the job retains several.
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
      // The metadata can read while the files it points to are gone (a partial copy, a cleaner):
      // restoring it would fail in the TaskManagers, after the job was already submitted.
      for (OperatorState s : m.getOperatorStates()) {
        for (OperatorSubtaskState subtask : s.getStates()) {
          for (StateObject handle : subtask.getDiscardables()) {
            for (Path file : stateFiles(handle)) {
              if (!fs.exists(file)) {
                return Optional.of(
                    "state file " + file + " of operator " + s.getOperatorID() + " is missing");
              }
            }
          }
        }
      }
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.of("unreadable _metadata: " + e.getMessage());
    }
  }

  /**
   * Deletes the folders of every job other than {@code currentJobId} under {@code checkpointDir}:
   * what earlier runs of the orchestrator retained. Call it only once the current job has completed
   * a checkpoint of its own: a restored job does not read the checkpoint it was started from after
   * its first own one (Flink's default NO_CLAIM restore makes that first checkpoint complete), so
   * the folders of older jobs are then dead weight that would grow with every restart. Returns the
   * folders deleted; a folder that cannot be deleted is logged and left.
   */
  public static List<String> pruneOtherJobs(String checkpointDir, String currentJobId)
      throws IOException {
    Objects.requireNonNull(checkpointDir, "checkpointDir");
    Objects.requireNonNull(currentJobId, "currentJobId");
    Path root = new Path(checkpointDir);
    FileSystem fs = root.getFileSystem();
    List<String> deleted = new ArrayList<>();
    if (!fs.exists(root)) {
      return deleted;
    }
    for (FileStatus job : list(fs, root)) {
      String name = job.getPath().getName();
      // Only job folders (32 hex digits, as Flink names them): never whatever else lives there.
      if (!job.isDir() || name.equals(currentJobId) || !name.matches("[0-9a-f]{32}")) {
        continue;
      }
      try {
        if (fs.delete(job.getPath(), true)) {
          deleted.add(job.getPath().toString());
        }
      } catch (IOException e) {
        LOG.warn("could not delete the old checkpoint folder {}: {}", job.getPath(), e.toString());
      }
    }
    if (!deleted.isEmpty()) {
      LOG.info(
          "job {} completed its first checkpoint; deleted the checkpoint folders of {} older"
              + " job(s): {}",
          currentJobId,
          deleted.size(),
          deleted);
    }
    return deleted;
  }

  /** The files a state handle reads from; inlined (in-metadata) state has none. */
  static List<Path> stateFiles(StateObject handle) {
    List<Path> files = new ArrayList<>();
    if (handle instanceof FileStateHandle f) {
      files.add(f.getFilePath());
    } else if (handle instanceof KeyGroupsStateHandle k) {
      files.addAll(stateFiles(k.getDelegateStateHandle()));
    } else if (handle instanceof OperatorStreamStateHandle o) {
      files.addAll(stateFiles(o.getDelegateStateHandle()));
    } else if (handle instanceof IncrementalRemoteKeyedStateHandle i) {
      i.streamSubHandles().forEach(h -> files.addAll(stateFiles(h)));
    } else if (handle instanceof AbstractChannelStateHandle<?> c) {
      files.addAll(stateFiles(c.getDelegate()));
    }
    return files;
  }

  private static FileStatus[] list(FileSystem fs, Path dir) throws IOException {
    FileStatus[] s = fs.listStatus(dir);
    return s == null ? new FileStatus[0] : s;
  }

  private record Candidate(Path path, long id, String jobId, long mtime, boolean complete) {}
}
