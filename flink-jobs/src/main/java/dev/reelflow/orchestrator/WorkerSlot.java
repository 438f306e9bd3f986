package dev.reelflow.orchestrator;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What the scheduler knows of one worker's capacity (Flink POJO). */
public class WorkerSlot {
  public String workerId;

  /** Free slots as last announced, minus the releases the worker has confirmed since. */
  public int freeSlots;

  /** Task-topic partitions the worker owns. */
  public List<Integer> partitions = new ArrayList<>();

  public boolean draining;

  /** Tasks released to the worker that it has not confirmed yet: taskId → release time. */
  public Map<String, Long> pending = new HashMap<>();

  /** When the worker last announced free capacity. */
  public long readySince;

  /**
   * The worker's clock time of its last READY: its STARTED of an earlier time (overtaken by that
   * READY on another topic) must not take the slot the READY freed.
   */
  public long announcedAt;

  /** Round-robin cursor over {@link #partitions}. */
  public int nextPartition;

  public WorkerSlot() {}

  int credits() {
    if (draining || partitions.isEmpty()) {
      return 0;
    }
    return Math.max(0, freeSlots - pending.size());
  }
}
