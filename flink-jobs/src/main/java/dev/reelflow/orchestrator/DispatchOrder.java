package dev.reelflow.orchestrator;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.ObjLongConsumer;

/**
 * The release order of one pool's backlog: highest priority first, then earliest deadline
 * (bucketed, so near-equal deadlines tie; no deadline comes last), then deficit round robin between
 * the tenants whose head tasks tie on both, and first-come first-served inside a tenant. With a
 * quantum of q tasks, two tenants that stay backlogged in the same class never differ by more than
 * q releases, so one tenant's 50k batch cannot starve another's single render.
 *
 * <p>In-memory index rebuilt from Flink state after a restore; the DRR cursor and deficits are
 * exported for checkpointing through {@link #cursor()} and {@link #deficits()}.
 */
final class DispatchOrder {

  /** One queued task as the order sees it. */
  record Entry(String requestId, String tenant, int priority, long deadlineBucket, long seq)
      implements Comparable<Entry> {
    @Override
    public int compareTo(Entry o) {
      int c = compareClass(o);
      if (c != 0) {
        return c;
      }
      c = Long.compare(seq, o.seq);
      return c != 0 ? c : requestId.compareTo(o.requestId);
    }

    int compareClass(Entry o) {
      int c = Integer.compare(o.priority, priority);
      return c != 0 ? c : Long.compare(deadlineBucket, o.deadlineBucket);
    }
  }

  private final int quantum;
  private final long bucketMillis;
  private final TreeMap<String, TreeSet<Entry>> tenants = new TreeMap<>();
  private final Map<String, Entry> byRequest = new HashMap<>();
  private final Map<String, Integer> deficit;
  private String cursor;

  DispatchOrder(int quantum, long bucketMillis, String cursor, Map<String, Integer> deficits) {
    this.quantum = quantum;
    this.bucketMillis = Math.max(1, bucketMillis);
    this.cursor = cursor;
    this.deficit = new HashMap<>(deficits == null ? Map.of() : deficits);
  }

  Entry entry(String requestId, String tenant, int priority, Long deadline, long seq) {
    long bucket = deadline == null ? Long.MAX_VALUE : Math.floorDiv(deadline, bucketMillis);
    return new Entry(requestId, tenant, priority, bucket, seq);
  }

  void add(Entry e) {
    remove(e.requestId());
    tenants.computeIfAbsent(e.tenant(), t -> new TreeSet<>()).add(e);
    byRequest.put(e.requestId(), e);
  }

  boolean remove(String requestId) {
    Entry e = byRequest.remove(requestId);
    if (e == null) {
      return false;
    }
    TreeSet<Entry> q = tenants.get(e.tenant());
    q.remove(e);
    if (q.isEmpty()) {
      tenants.remove(e.tenant());
      deficit.remove(e.tenant());
    }
    return true;
  }

  boolean contains(String requestId) {
    return byRequest.containsKey(requestId);
  }

  int size() {
    return byRequest.size();
  }

  boolean isEmpty() {
    return byRequest.isEmpty();
  }

  /** Queued tasks per tenant. */
  Map<String, Integer> sizesByTenant() {
    Map<String, Integer> m = new HashMap<>();
    tenants.forEach((t, q) -> m.put(t, q.size()));
    return m;
  }

  String cursor() {
    return cursor;
  }

  Map<String, Integer> deficits() {
    return new HashMap<>(deficit);
  }

  /** Takes the next task out of the order, or null when empty. */
  Entry next() {
    Pick p = pick(headsOf(tenants), cursor, deficit);
    if (p == null) {
      return null;
    }
    cursor = p.tenant;
    remove(p.entry.requestId());
    if (tenants.containsKey(p.tenant)) {
      deficit.put(p.tenant, p.deficitAfter);
    }
    return p.entry;
  }

  /** The first {@code n} tasks in release order, without taking them. */
  List<Entry> preview(int n) {
    Map<String, Iterator<Entry>> its = new TreeMap<>();
    Map<String, Entry> heads = new TreeMap<>();
    for (Map.Entry<String, TreeSet<Entry>> t : tenants.entrySet()) {
      Iterator<Entry> it = t.getValue().iterator();
      its.put(t.getKey(), it);
      heads.put(t.getKey(), it.next());
    }
    Map<String, Integer> def = new HashMap<>(deficit);
    String cur = cursor;
    List<Entry> out = new ArrayList<>(Math.min(n, size()));
    while (out.size() < n && !heads.isEmpty()) {
      Pick p = pick(heads, cur, def);
      out.add(p.entry);
      cur = p.tenant;
      Iterator<Entry> it = its.get(p.tenant);
      if (it.hasNext()) {
        heads.put(p.tenant, it.next());
        def.put(p.tenant, p.deficitAfter);
      } else {
        heads.remove(p.tenant);
        def.remove(p.tenant);
      }
    }
    return out;
  }

  /**
   * Coarse positions of every task (used beyond the exact prefix): tasks of better classes, plus
   * the task's rank inside its tenant's share of its class times the tenants sharing that class.
   */
  Map<String, Long> estimates() {
    Map<String, Long> out = new HashMap<>();
    forEachEstimate(out::put);
    return out;
  }

  /** {@link #estimates()} without building the map: two passes over the queues. */
  void forEachEstimate(ObjLongConsumer<String> sink) {
    TreeMap<Entry, long[]> classCounts = new TreeMap<>(Entry::compareClass);
    Map<Entry, Integer> classTenants = new TreeMap<>(Entry::compareClass);
    for (TreeSet<Entry> q : tenants.values()) {
      Entry lastClass = null;
      long[] count = null;
      for (Entry e : q) {
        if (lastClass == null || lastClass.compareClass(e) != 0) {
          count = classCounts.computeIfAbsent(e, k -> new long[1]);
          classTenants.merge(e, 1, Integer::sum);
          lastClass = e;
        }
        count[0]++;
      }
    }
    Map<Entry, Long> before = new TreeMap<>(Entry::compareClass);
    long running = 0;
    for (Map.Entry<Entry, long[]> c : classCounts.entrySet()) {
      before.put(c.getKey(), running);
      running += c.getValue()[0];
    }
    for (TreeSet<Entry> q : tenants.values()) {
      Entry lastClass = null;
      long rank = 0;
      long base = 0;
      int sharing = 1;
      for (Entry e : q) {
        if (lastClass == null || lastClass.compareClass(e) != 0) {
          rank = 0;
          lastClass = e;
          base = before.get(e);
          sharing = classTenants.get(e);
        }
        sink.accept(e.requestId(), base + rank * sharing);
        rank++;
      }
    }
  }

  private record Pick(Entry entry, String tenant, int deficitAfter) {}

  private static Map<String, Entry> headsOf(TreeMap<String, TreeSet<Entry>> tenants) {
    Map<String, Entry> heads = new TreeMap<>();
    tenants.forEach((t, q) -> heads.put(t, q.first()));
    return heads;
  }

  private Pick pick(Map<String, Entry> heads, String cur, Map<String, Integer> def) {
    Entry best = null;
    for (Entry h : heads.values()) {
      if (best == null || h.compareClass(best) < 0) {
        best = h;
      }
    }
    if (best == null) {
      return null;
    }
    List<String> candidates = new ArrayList<>();
    for (Map.Entry<String, Entry> h : heads.entrySet()) {
      if (h.getValue().compareClass(best) == 0) {
        candidates.add(h.getKey());
      }
    }
    String tenant;
    int d;
    if (cur != null && candidates.contains(cur) && def.getOrDefault(cur, 0) > 0) {
      tenant = cur;
      d = def.get(cur);
    } else {
      // The next candidate after the cursor in ring (name) order gets a fresh quantum.
      tenant = candidates.get(0);
      if (cur != null) {
        for (String c : candidates) {
          if (c.compareTo(cur) > 0) {
            tenant = c;
            break;
          }
        }
      }
      // Unit costs: a turn is exactly one quantum; a turn cut short (the tenant's head fell to a
      // lower class) is not carried over, which keeps the bound at one quantum.
      d = quantum;
    }
    return new Pick(heads.get(tenant), tenant, d - 1);
  }

  /** A navigable view of one tenant's queue, for tests. */
  NavigableSet<Entry> queueOf(String tenant) {
    TreeSet<Entry> q = tenants.get(tenant);
    return q == null ? new TreeSet<>() : q;
  }
}
