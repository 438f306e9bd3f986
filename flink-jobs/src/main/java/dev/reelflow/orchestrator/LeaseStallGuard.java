package dev.reelflow.orchestrator;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Tells a dead worker from a stalled input when a lease runs out, so that a Kafka broker outage or
 * network stall longer than the lease does not re-run every render in flight.
 *
 * <p>A worker's heartbeats stop for one of two reasons: the worker died (or froze), or the path
 * from the workers to the orchestrator stalled (a broker down until its partitions move, a broker
 * frozen, a network stall). A dead worker falls silent alone, while the attempts on the other
 * workers keep beating. A stalled path silences several workers at the same moment. So when an
 * attempt's lease runs out and another attempt, on another worker, fell silent within half a lease
 * of it and is silent still, the lease is <em>held</em> (looked at again every quarter lease)
 * instead of fenced; when such a peer spoke again less than a lease ago (the input just came back,
 * and this attempt's own backlog may still be unread), the lease is re-armed once until a lease
 * after that peer resumed. When the silent peers speak again (input resumed) an attempt that was
 * held gets one full lease from then for its own heartbeats, still in the topic, to arrive; if they
 * do not, it is fenced then. A lease is never held longer than the stall hold, after which it is
 * fenced as before.
 *
 * <p>What it cannot tell: a lone attempt whose partition stalls while the others flow (its peers
 * keep beating) is fenced at its lease; two workers dying at the same moment (a machine with both)
 * are fenced only after the stall hold. An idle worker sends nothing, so it is no evidence either
 * way: a SIGKILLed worker next to an idle one is fenced at the normal lease.
 *
 * <p>Not checkpointed: it describes the last few seconds of input of this subtask. After a restore
 * it is empty (nothing held) and learns again from the next heartbeats; the lifecycle's restart
 * grace covers the first lease.
 */
final class LeaseStallGuard {
  /** What to do with a lease that ran out. */
  enum Verdict {
    /** Fence the attempt and queue the next one. */
    FENCE,
    /** The input looks stalled: keep the attempt, look again at {@link Decision#recheckAt}. */
    HOLD,
    /** Input resumed after a hold: give the attempt until {@link Decision#recheckAt}. */
    REARM
  }

  /**
   * A verdict and when to look again (0 for {@link Verdict#FENCE}); {@code news} when it is the
   * first hold of this attempt, its re-arm, or a fence after a hold (worth a log line).
   */
  record Decision(Verdict verdict, long recheckAt, String reason, boolean news) {
    Decision(Verdict verdict, long recheckAt, String reason) {
      this(verdict, recheckAt, reason, true);
    }
  }

  private static final class Beat {
    String workerId;
    long lastHeard;
    long heldSince;
    boolean rearmed;

    /** The last heartbeat before the latest silence of half a lease or more, and its end. */
    long silentFrom;

    long resumedAt;
  }

  private final long leaseMillis;
  private final long maxHoldMillis;
  private final Map<String, Beat> beats = new HashMap<>();

  /**
   * @param leaseMillis the task lease
   * @param maxHoldMillis the longest a lease is held past its end; 0 switches the guard off
   */
  LeaseStallGuard(long leaseMillis, long maxHoldMillis) {
    if (leaseMillis <= 0 || maxHoldMillis < 0) {
      throw new IllegalArgumentException(
          "lease must be positive and stall hold non-negative, got "
              + leaseMillis
              + " and "
              + maxHoldMillis);
    }
    this.leaseMillis = leaseMillis;
    this.maxHoldMillis = maxHoldMillis;
  }

  boolean enabled() {
    return maxHoldMillis > 0;
  }

  /** A STARTED, HEARTBEAT or PROGRESS of the render's current attempt arrived. */
  void heard(String renderId, String workerId, long now) {
    if (!enabled()) {
      return;
    }
    Beat b = beats.computeIfAbsent(renderId, k -> new Beat());
    b.workerId = workerId == null ? "" : workerId;
    if (b.lastHeard > 0 && now - b.lastHeard >= leaseMillis / 2) {
      b.silentFrom = b.lastHeard;
      b.resumedAt = now;
    }
    b.lastHeard = now;
    b.heldSince = 0;
    b.rearmed = false;
  }

  /** The render's attempt ended (completed, failed, fenced) or the render is final. */
  void forget(String renderId) {
    beats.remove(renderId);
  }

  /** Attempts tracked now (for tests and logs). */
  int tracked() {
    return beats.size();
  }

  /** The render's lease ran out at {@code now}: fence it, hold it, or give it until later. */
  Decision onLeaseEnd(String renderId, long now) {
    Beat b = beats.get(renderId);
    if (!enabled() || b == null) {
      return new Decision(Verdict.FENCE, 0, "");
    }
    prune(now);
    long together = leaseMillis / 2;
    int silentPeers = 0;
    long resumed = 0;
    for (Map.Entry<String, Beat> e : beats.entrySet()) {
      Beat q = e.getValue();
      if (e.getKey().equals(renderId) || q.workerId.equals(b.workerId)) {
        continue;
      }
      boolean fellSilentTogether = Math.abs(q.lastHeard - b.lastHeard) <= together;
      boolean silentStill = now - q.lastHeard >= together;
      if (fellSilentTogether && silentStill) {
        silentPeers++;
      }
      // A peer that fell silent with this attempt and spoke again within the last lease: the
      // input just came back, and this attempt's own backlog may still be on its way.
      if (q.resumedAt > 0
          && now - q.resumedAt < leaseMillis
          && Math.abs(q.silentFrom - b.lastHeard) <= together) {
        resumed = Math.max(resumed, q.resumedAt);
      }
    }
    long recheck = Math.max(1, leaseMillis / 4);
    if (silentPeers > 0) {
      boolean first = b.heldSince == 0;
      if (first) {
        b.heldSince = now;
      }
      if (now - b.heldSince >= maxHoldMillis) {
        return new Decision(
            Verdict.FENCE,
            0,
            "held " + (now - b.heldSince) + " ms for a stalled input, the stall hold is over");
      }
      return new Decision(
          Verdict.HOLD,
          now + Math.min(recheck, b.heldSince + maxHoldMillis - now),
          silentPeers + " attempt(s) on other workers fell silent with it",
          first);
    }
    if (b.heldSince != 0 && now - b.heldSince >= maxHoldMillis) {
      return new Decision(
          Verdict.FENCE, 0, "held " + (now - b.heldSince) + " ms, the stall hold is over");
    }
    if (b.heldSince != 0 && !b.rearmed) {
      b.rearmed = true;
      return new Decision(
          Verdict.REARM, now + leaseMillis, "input resumed after a hold of " + (now - b.heldSince));
    }
    if (resumed > 0 && !b.rearmed) {
      b.rearmed = true;
      return new Decision(
          Verdict.REARM,
          resumed + leaseMillis,
          "an attempt on another worker that fell silent with it spoke again "
              + (now - resumed)
              + " ms ago");
    }
    return new Decision(Verdict.FENCE, 0, "");
  }

  /** Forgets attempts silent for far longer than any hold (their renders left this subtask). */
  private void prune(long now) {
    long horizon = 3 * leaseMillis + maxHoldMillis;
    for (Iterator<Beat> it = beats.values().iterator(); it.hasNext(); ) {
      if (now - it.next().lastHeard > horizon) {
        it.remove();
      }
    }
  }
}
