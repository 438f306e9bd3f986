package dev.reelflow.ingest;

import dev.reelflow.schemas.Vocabulary;
import dev.reelflow.schemas.avro.RenderRequest;
import dev.reelflow.schemas.avro.RenderState;
import dev.reelflow.schemas.avro.RenderStatus;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The materialized view of render.status: the newest status of every render, indexed by tenant and
 * batch. Renders this instance accepted but the orchestrator has not reported yet are held as
 * provisional ACCEPTED statuses ({@code version = -1}), so a client can read its render at once;
 * any status from the topic replaces them.
 */
final class StatusView {
  static final long PROVISIONAL = -1;

  /** Called for every change; {@code previous} is null for a render seen the first time. */
  interface Listener {
    void changed(RenderStatus previous, RenderStatus current, boolean live);
  }

  private final Map<String, RenderStatus> byId = new ConcurrentHashMap<>();
  private final Map<String, RenderIdIndex> byTenant = new ConcurrentHashMap<>();

  /**
   * Batch members whose id does not name their batch ({@link RenderIdIndex#isRowOf}): none that
   * ingest accepted, whose rows are found through the tenant index's group of the batch.
   */
  private final Map<String, Set<String>> foreignBatchRows = new ConcurrentHashMap<>();

  private final Map<String, AtomicLong> openByTenant = new ConcurrentHashMap<>();
  private final Map<String, Integer> batchSizes = new ConcurrentHashMap<>();

  /** Batches recorded while their transaction commits ({@link #stage}): not shown yet. */
  private final Set<String> committing = ConcurrentHashMap.newKeySet();

  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean live;

  void addListener(Listener l) {
    listeners.add(l);
  }

  void removeListener(Listener l) {
    listeners.remove(l);
  }

  /** Marks the end of the initial replay: changes from now on are news, not history. */
  void goLive() {
    live = true;
  }

  /** Applies a status from the topic; older versions than the one held are dropped. */
  void apply(RenderStatus s) {
    RenderStatus[] prev = new RenderStatus[1];
    boolean[] changed = new boolean[1];
    byId.compute(
        s.getRequestId(),
        (id, old) -> {
          prev[0] = old;
          if (old != null && old.getVersion() > s.getVersion()) {
            return old;
          }
          changed[0] = true;
          return s;
        });
    if (changed[0]) {
      index(prev[0], s);
    }
  }

  /** Removes a render (a tombstone on the topic). */
  void remove(String requestId) {
    RenderStatus old = byId.remove(requestId);
    if (old != null) {
      RenderIdIndex ids = byTenant.get(old.getTenant());
      if (ids != null) {
        ids.remove(requestId);
      }
      if (old.getBatchId() != null && !RenderIdIndex.isRowOf(requestId, old.getBatchId())) {
        Set<String> b = foreignBatchRows.get(old.getBatchId());
        if (b != null) {
          b.remove(requestId);
        }
      }
      if (!Vocabulary.isTerminal(old.getState())) {
        open(old.getTenant()).decrementAndGet();
      }
    }
  }

  /**
   * Records renders this instance just published for one tenant (one, or a batch's rows) until the
   * topic reports them.
   */
  void accepted(List<RenderRequest> requests) {
    notifyAdded(record(requests));
  }

  /**
   * A batch's renders recorded while its transaction commits: recording them is then done by the
   * time Kafka has acknowledged the last rows (it was a fifth of a 10,000-row batch's handling,
   * after the commit), and nobody sees them before {@link #show}; {@link #discard} removes them.
   */
  final class Staged {
    private final String batchId;
    private final List<RenderStatus> added;
    private boolean ended;

    private Staged(String batchId, List<RenderStatus> added) {
      this.batchId = batchId;
      this.added = added;
    }

    /** The transaction committed: the renders are readable and listeners hear of them. */
    void show() {
      end();
      notifyAdded(added);
    }

    /** The transaction did not commit: the renders were never accepted. */
    void discard() {
      end();
      for (RenderStatus st : added) {
        remove(st.getRequestId());
      }
    }

    private void end() {
      if (ended) {
        throw new IllegalStateException("batch " + batchId + " was already shown or discarded");
      }
      ended = true;
      committing.remove(batchId);
    }
  }

  /** Records a batch's rows hidden, until its transaction's outcome ({@link Staged}). */
  Staged stage(String batchId, List<RenderRequest> rows) {
    if (!committing.add(batchId)) {
      throw new IllegalStateException("batch " + batchId + " is already being committed");
    }
    return new Staged(batchId, record(rows));
  }

  /** True unless the status is a provisional one of a batch still committing. */
  private boolean shown(RenderStatus s) {
    return s.getVersion() != PROVISIONAL
        || s.getBatchId() == null
        || committing.isEmpty()
        || !committing.contains(s.getBatchId());
  }

  /** Adds provisional statuses and indexes them; the ones added (not already held) in order. */
  private List<RenderStatus> record(List<RenderRequest> requests) {
    // Half of a 10,000-row batch's handling time was once spent here, in inserts into large maps:
    // the provisional status carries its seed (no map of seeds beside it), and the batch's rows go
    // into the tenant index's group for the batch in one append (RenderIdIndex), which is also
    // where the batch's members are found.
    if (requests.isEmpty()) {
      return List.of();
    }
    String tenant = requests.get(0).getTenant();
    List<RenderStatus> added = new ArrayList<>(requests.size());
    List<String> ids = new ArrayList<>(requests.size());
    for (RenderRequest r : requests) {
      if (!r.getTenant().equals(tenant)) {
        throw new IllegalArgumentException(
            "accepted takes one tenant's renders: " + tenant + " and " + r.getTenant());
      }
      RenderStatus s = provisional(r);
      if (byId.putIfAbsent(s.getRequestId(), s) != null) {
        continue; // the topic already knows it (an idempotent replay)
      }
      added.add(s);
      ids.add(s.getRequestId());
      addIfForeignBatchRow(s);
    }
    byTenant.computeIfAbsent(tenant, t -> new RenderIdIndex()).addAll(ids);
    open(tenant).addAndGet(added.size()); // ACCEPTED is not final
    return added;
  }

  private void addIfForeignBatchRow(RenderStatus s) {
    if (s.getBatchId() != null && !RenderIdIndex.isRowOf(s.getRequestId(), s.getBatchId())) {
      foreignBatchRows
          .computeIfAbsent(s.getBatchId(), b -> ConcurrentHashMap.newKeySet())
          .add(s.getRequestId());
    }
  }

  private void notifyAdded(List<RenderStatus> added) {
    for (Listener l : listeners) {
      for (RenderStatus s : added) {
        l.changed(null, s, live);
      }
    }
  }

  private static RenderStatus provisional(RenderRequest r) {
    // The all-arguments constructor, not the builder: the builder validates every field against
    // the schema and tracks which were set, about 40% of this method's samples in a profile of
    // 10,000-row batches (StatusViewTest checks the fields against the builder's record).
    return new RenderStatus(
        r.getRequestId(),
        r.getTenant(),
        RenderState.ACCEPTED,
        null, // stage
        0, // attempt
        0, // attempts
        null, // step
        null, // totalSteps
        null, // etaMillis
        null, // queuePosition
        false, // queuePositionEstimated
        null, // workerId
        new ArrayList<>(), // outputs
        null, // error
        r.getPriority(),
        r.getDeadline(),
        r.getBatchId(),
        null, // scheduleId
        r.getLabels(),
        r.getCallbackUrl(),
        r.getParams().getPrompt(),
        r.getParams().getSeed(),
        null, // lineageRunId
        PROVISIONAL,
        r.getSubmittedAt(),
        r.getSubmittedAt());
  }

  void batchSize(String batchId, int rows) {
    batchSizes.put(batchId, rows);
  }

  /** Rows of the batch when this instance accepted it; 0 when another instance did. */
  int acceptedRows(String batchId) {
    return batchSizes.getOrDefault(batchId, 0);
  }

  private void index(RenderStatus old, RenderStatus s) {
    // A render's tenant and batch never change: it is indexed once, when first seen (adding it
    // again on every update searched the tenant's sorted set for nothing).
    if (old == null) {
      byTenant.computeIfAbsent(s.getTenant(), t -> new RenderIdIndex()).add(s.getRequestId());
      addIfForeignBatchRow(s);
    }
    boolean wasOpen = old != null && !Vocabulary.isTerminal(old.getState());
    boolean isOpen = !Vocabulary.isTerminal(s.getState());
    if (wasOpen != isOpen) {
      open(s.getTenant()).addAndGet(isOpen ? 1 : -1);
    }
    for (Listener l : listeners) {
      l.changed(old, s, live);
    }
  }

  private AtomicLong open(String tenant) {
    return openByTenant.computeIfAbsent(tenant, t -> new AtomicLong());
  }

  /** The render if it exists and belongs to the tenant; another tenant's render is absent. */
  Optional<RenderStatus> get(String tenant, String requestId) {
    RenderStatus s = byId.get(requestId);
    return s != null && s.getTenant().equals(tenant) && shown(s)
        ? Optional.of(s)
        : Optional.empty();
  }

  /** Renders of the tenant not in a final state, a batch's still committing included. */
  long inFlight(String tenant) {
    AtomicLong n = openByTenant.get(tenant);
    return n == null ? 0 : n.get();
  }

  /** The tenant's renders of the batch, by id; empty for another tenant's batch. */
  List<RenderStatus> batch(String tenant, String batchId) {
    List<RenderStatus> out = new ArrayList<>();
    RenderIdIndex ids = byTenant.get(tenant);
    if (ids != null) {
      for (String id : ids.idsOf(batchId + "-")) {
        RenderStatus s = byId.get(id);
        // an id of the batch's form need not belong to it (a producer other than ingest)
        if (s != null && batchId.equals(s.getBatchId()) && shown(s)) {
          out.add(s);
        }
      }
    }
    Set<String> foreign = foreignBatchRows.get(batchId);
    if (foreign != null && !foreign.isEmpty()) {
      for (String id : foreign) {
        get(tenant, id).ifPresent(out::add);
      }
      out.sort(Comparator.comparing(RenderStatus::getRequestId));
    }
    return out;
  }

  /** Up to {@code limit} of the tenant's renders after {@code cursor} (exclusive), by id. */
  List<RenderStatus> list(String tenant, String cursor, int limit, Predicate<RenderStatus> filter) {
    RenderIdIndex ids = byTenant.get(tenant);
    List<RenderStatus> out = new ArrayList<>();
    if (ids == null) {
      return out;
    }
    ids.forEachAfter(
        cursor,
        id -> {
          RenderStatus s = byId.get(id);
          if (s != null && shown(s) && filter.test(s)) {
            out.add(s);
          }
          return out.size() < limit;
        });
    return out;
  }

  int size() {
    return byId.size();
  }
}
