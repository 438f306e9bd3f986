package dev.reelflow.orchestrator;

import java.util.HashMap;
import java.util.Map;

/** Per-pool scheduler bookkeeping kept in Flink state (POJO). */
public class SchedulerMeta {
  /** Next arrival sequence number. */
  public long seq;

  /** DRR cursor: the tenant served last. */
  public String cursor;

  /** DRR deficits by tenant. */
  public Map<String, Integer> deficits = new HashMap<>();

  /** Time of the registered position-publishing timer, 0 when none. */
  public long positionTimer;

  public SchedulerMeta() {}
}
