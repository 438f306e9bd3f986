package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderStatus;
import dev.reelflow.schemas.avro.RenderTask;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.StageEvent;
import dev.reelflow.schemas.avro.WorkerEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dispatch scheduler of one worker pool (keyed by pool). The backlog lives in Flink state; a
 * task is released only against a free slot a worker announced on render.worker-events, to a
 * task-topic partition that worker owns. Order: see {@link DispatchOrder}. Releases the worker has
 * not confirmed (STARTED, a heartbeat, or its next READY listing the task) within the lease go back
 * to the head of the backlog. Queue positions are published as status updates when they change, at
 * most once per position interval per render: exact for the first {@code exactPositions} tasks, a
 * coarse estimate (two significant digits) beyond, of which at most {@code exactPositions} per
 * interval, in rotation.
 *
 * <p>Cost per event: Flink state (RocksDB in production) stays the record of truth and every change
 * is written through to it, but the small per-pool structures the scheduler reads on every event
 * (the workers, the released-but-unconfirmed tasks, the bookkeeping) and the release order are
 * mirrored in memory ({@link PoolView}, rebuilt from state on the first event after a start or
 * restore), so an event reads nothing from the state backend but the backlog entry it releases.
 * Leases share one timer per pool (at the earliest unconfirmed release's expiry) rather than one
 * per release, and position publishing walks the in-memory order, reading a backlog entry only for
 * a position it publishes.
 */
final class DispatchScheduler extends KeyedProcessFunction<String, PoolInput, TaskDispatch> {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(DispatchScheduler.class);

  static final OutputTag<RenderStatus> POSITIONS = new OutputTag<>("queue-positions") {};

  private final long leaseMillis;
  private final long positionIntervalMillis;
  private final int exactPositions;
  private final int quantum;
  private final long deadlineBucketMillis;

  private transient MapState<String, QueuedTask> backlog;
  private transient MapState<String, QueuedTask> released;
  private transient MapState<String, WorkerSlot> workers;
  private transient ValueState<SchedulerMeta> meta;
  private transient Map<String, PoolView> pools;
  private transient Map<String, Map<String, Integer>> tenantBacklog;
  private transient Set<String> tenantGauges;
  private transient MetricGroup metrics;
  private transient Counter dispatched;
  private transient Counter redispatched;
  private transient Counter expiredBeforeDispatch;
  private transient Histogram queueWait;
  private transient Histogram dispatchLatency;

  /**
   * No release is taken back before this time: one lease after the first element or timer of this
   * (re)started operator. After a restore (a failover, a JobManager restart) the release timers are
   * overdue, while the workers' STARTED events confirming them are still unread in the topic:
   * taking them back at once would dispatch tasks that already ran (the worker skips them as
   * duplicates) and take the workers' credit away.
   */
  private transient long releaseGraceUntil;

  DispatchScheduler(OrchestratorConfig config) {
    this(
        config.lease().toMillis(),
        config.positionInterval().toMillis(),
        config.exactPositions(),
        config.drrQuantum(),
        config.deadlineBucket().toMillis());
  }

  DispatchScheduler(
      long leaseMillis,
      long positionIntervalMillis,
      int exactPositions,
      int quantum,
      long deadlineBucketMillis) {
    this.leaseMillis = leaseMillis;
    this.positionIntervalMillis = positionIntervalMillis;
    this.exactPositions = exactPositions;
    this.quantum = quantum;
    this.deadlineBucketMillis = deadlineBucketMillis;
  }

  @Override
  public void open(OpenContext openContext) {
    backlog =
        getRuntimeContext()
            .getMapState(
                new MapStateDescriptor<>(
                    "backlog", Types.STRING, TypeInformation.of(QueuedTask.class)));
    released =
        getRuntimeContext()
            .getMapState(
                new MapStateDescriptor<>(
                    "released", Types.STRING, TypeInformation.of(QueuedTask.class)));
    workers =
        getRuntimeContext()
            .getMapState(
                new MapStateDescriptor<>(
                    "workers", Types.STRING, TypeInformation.of(WorkerSlot.class)));
    meta = getRuntimeContext().getState(new ValueStateDescriptor<>("meta", SchedulerMeta.class));
    pools = new HashMap<>();
    tenantBacklog = new ConcurrentHashMap<>();
    tenantGauges = new HashSet<>();
    metrics = getRuntimeContext().getMetricGroup().addGroup("scheduler");
    dispatched = metrics.counter("tasksDispatched");
    redispatched = metrics.counter("unconfirmedRedispatched");
    expiredBeforeDispatch = metrics.counter("expiredBeforeDispatch");
    queueWait = metrics.histogram("queueWaitMillis", new DescriptiveStatisticsHistogram(1000));
    dispatchLatency =
        metrics.histogram("dispatchLatencyMillis", new DescriptiveStatisticsHistogram(1000));
    for (Stage s : Stage.values()) {
      String pool = s.name();
      metrics
          .addGroup("pool", pool)
          .gauge(
              "backlog",
              () ->
                  tenantBacklog.getOrDefault(pool, Map.of()).values().stream()
                      .mapToInt(Integer::intValue)
                      .sum());
    }
  }

  @Override
  public void processElement(PoolInput in, Context ctx, Collector<TaskDispatch> out)
      throws Exception {
    long now = ctx.timerService().currentProcessingTime();
    startGrace(now);
    String pool = ctx.getCurrentKey();
    PoolView v = view(pool);
    if (in.command != null) {
      onCommand(in.command, v, now, ctx);
    } else if (in.workerEvent != null) {
      onWorkerEvent(in.workerEvent, v, now);
    } else if (in.stageEvent != null) {
      onStageEvent(in.stageEvent, v);
    }
    dispatch(pool, v, now, ctx, out);
  }

  private void onCommand(PoolCommand c, PoolView v, long now, Context ctx) throws Exception {
    DispatchOrder order = v.order;
    switch (c.kind) {
      case ENQUEUE -> {
        // Only a request the order holds can be in the backlog: no state read for a new one.
        QueuedTask old = order.contains(c.requestId) ? backlog.get(c.requestId) : null;
        if (old != null && old.task.getTaskId().equals(c.task.getTaskId())) {
          return; // a duplicate command after a replay
        }
        v.removeReleased(c.requestId);
        SchedulerMeta m = v.meta;
        QueuedTask q = new QueuedTask();
        q.task = c.task;
        q.status = c.status;
        q.tenant = c.task.getTenant();
        q.priority = c.task.getPriority();
        q.deadline = c.deadline;
        q.seq = m.seq++;
        q.enqueuedAt = now;
        meta.update(m);
        backlog.put(c.requestId, q);
        v.published.remove(c.requestId);
        order.add(order.entry(c.requestId, q.tenant, q.priority, q.deadline, q.seq));
        // Registered at the first task, so a tenant's series exists (at 0) even when every task
        // of it left the backlog at once.
        registerTenantGauge(ctx.getCurrentKey(), q.tenant);
        ensurePositionTimer(v, now, ctx);
      }
      case REMOVE -> {
        if (order.remove(c.requestId)) {
          backlog.remove(c.requestId);
        }
        v.published.remove(c.requestId);
        // A release on its way to a worker holds that worker's slot until the worker confirms it
        // (it runs or skips the task) or the lease runs out: forgetting it here would leave the
        // slot counted busy until the lease (the restarted job's stall OrchestratorRestartIT
        // found), so it is only marked.
        QueuedTask r = v.released.get(c.requestId);
        if (r != null && !r.withdrawn) {
          r.withdrawn = true;
          v.putReleased(c.requestId, r);
        }
      }
      case REPRIORITIZE -> {
        QueuedTask q = order.contains(c.requestId) ? backlog.get(c.requestId) : null;
        if (q == null) {
          return;
        }
        q.priority = c.priority;
        q.deadline = c.deadline;
        q.task =
            RenderTask.newBuilder(q.task)
                .setPriority(c.priority)
                .setDeadline(c.deadline == null ? null : Instant.ofEpochMilli(c.deadline))
                .build();
        q.status =
            RenderStatus.newBuilder(q.status)
                .setPriority(c.priority)
                .setDeadline(c.deadline == null ? null : Instant.ofEpochMilli(c.deadline))
                .build();
        backlog.put(c.requestId, q);
        order.add(order.entry(c.requestId, q.tenant, q.priority, q.deadline, q.seq));
      }
      default -> {}
    }
  }

  private void onWorkerEvent(WorkerEvent e, PoolView v, long now) throws Exception {
    String id = e.getWorkerId();
    switch (e.getType()) {
      case READY -> {
        WorkerSlot w = v.workers.get(id);
        if (w == null) {
          w = new WorkerSlot();
          w.workerId = id;
        }
        w.freeSlots = Math.max(0, e.getFreeSlots());
        w.partitions = new ArrayList<>(e.getOwnedPartitions());
        w.draining = false;
        List<String> running = e.getRunningTaskIds();
        if (!running.isEmpty()) {
          Set<String> runningSet = new HashSet<>(running);
          w.pending.keySet().removeIf(runningSet::contains);
        }
        w.pending.values().removeIf(at -> at + leaseMillis <= now);
        for (String taskId : running) {
          confirm(taskId, v);
        }
        w.readySince = now;
        w.announcedAt = Math.max(w.announcedAt, e.getAt().toEpochMilli());
        v.putWorker(w);
      }
      case DRAINING -> {
        WorkerSlot w = v.workers.get(id);
        if (w != null) {
          w.draining = true;
          v.putWorker(w);
        }
      }
      case STOPPED -> {
        WorkerSlot w = v.removeWorker(id);
        if (w != null) {
          // Releases it never confirmed go back to the head of the backlog.
          for (String taskId : w.pending.keySet()) {
            requeueUnconfirmed(taskId, v);
          }
        }
      }
      default -> {}
    }
  }

  private void onStageEvent(StageEvent e, PoolView v) throws Exception {
    QueuedTask q = v.released.get(e.getRequestId());
    if (q == null || !q.task.getTaskId().equals(e.getTaskId())) {
      if (!takeOutReachedWorker(e.getTaskId(), v)) {
        return;
      }
    } else {
      v.removeReleased(e.getRequestId());
      WorkerSlot w = q.workerId == null ? null : v.workers.get(q.workerId);
      if (w != null && w.pending.remove(e.getTaskId()) != null) {
        v.putWorker(w);
      }
    }
    // The slot the task took is no longer free on the worker that runs it, unless the worker
    // announced it free again later (stage and worker events travel on different topics: under
    // load a READY sent when the task ended can arrive before its STARTED, and an idle worker
    // sends no other).
    WorkerSlot runner = v.workers.get(e.getWorkerId());
    if (runner != null && e.getAt().toEpochMilli() >= runner.announcedAt) {
      runner.freeSlots = Math.max(0, runner.freeSlots - 1);
      v.putWorker(runner);
    }
  }

  private void startGrace(long now) {
    if (releaseGraceUntil == 0) {
      releaseGraceUntil = now + leaseMillis;
    }
  }

  private void confirm(String taskId, PoolView v) throws Exception {
    String requestId = requestIdOf(taskId);
    QueuedTask q = v.released.get(requestId);
    if (q != null && q.task.getTaskId().equals(taskId)) {
      v.removeReleased(requestId);
    } else {
      takeOutReachedWorker(taskId, v);
    }
  }

  /**
   * A worker reported a task (an event of it, or a READY listing it) that went back to the backlog
   * because its release was not confirmed within the lease: the release did reach a worker after
   * all (late under load), so releasing the same attempt again would only run it twice, or have the
   * second worker skip it as a duplicate. The lifecycle follows the task from here. Returns whether
   * the task was taken out.
   */
  private boolean takeOutReachedWorker(String taskId, PoolView v) throws Exception {
    String requestId = requestIdOf(taskId);
    if (!v.order.contains(requestId)) {
      return false;
    }
    QueuedTask q = backlog.get(requestId);
    if (q == null || !q.task.getTaskId().equals(taskId)) {
      return false;
    }
    v.order.remove(requestId);
    backlog.remove(requestId);
    v.published.remove(requestId);
    LOG.info("{} reached a worker after its lease; not released again", taskId);
    return true;
  }

  private void requeueUnconfirmed(String taskId, PoolView v) throws Exception {
    String requestId = requestIdOf(taskId);
    QueuedTask q = v.released.get(requestId);
    if (q == null || !q.task.getTaskId().equals(taskId)) {
      return;
    }
    v.removeReleased(requestId);
    if (q.withdrawn) {
      return;
    }
    q.workerId = null;
    backlog.put(requestId, q);
    v.order.add(v.order.entry(requestId, q.tenant, q.priority, q.deadline, q.seq));
    redispatched.inc();
    LOG.info("release of {} was not confirmed by its worker; queued again", taskId);
  }

  private void dispatch(String pool, PoolView v, long now, Context ctx, Collector<TaskDispatch> out)
      throws Exception {
    DispatchOrder order = v.order;
    if (!order.isEmpty()) {
      List<WorkerSlot> free = new ArrayList<>();
      for (WorkerSlot w : v.workers.values()) { // in worker-id order
        if (w.credits() > 0) {
          free.add(w);
        }
      }
      int wi = 0;
      boolean taken = false;
      while (!order.isEmpty() && !free.isEmpty()) {
        WorkerSlot w = free.get(wi % free.size());
        DispatchOrder.Entry e = order.next();
        QueuedTask q = backlog.get(e.requestId());
        backlog.remove(e.requestId());
        v.published.remove(e.requestId());
        taken = true;
        if (q == null) {
          continue;
        }
        if (q.deadline != null && q.deadline <= now) {
          // The lifecycle's deadline timer ends the render EXPIRED; never start it.
          expiredBeforeDispatch.inc();
          continue;
        }
        int partition = w.partitions.get(Math.floorMod(w.nextPartition++, w.partitions.size()));
        RenderTask task =
            RenderTask.newBuilder(q.task).setDispatchedAt(Instant.ofEpochMilli(now)).build();
        out.collect(
            new TaskDispatch(
                task,
                task.getStage() == Stage.BASE ? TopicNames.TASKS_BASE : TopicNames.TASKS_UPSCALE,
                partition,
                w.workerId));
        dispatched.inc();
        queueWait.update(now - q.enqueuedAt);
        dispatchLatency.update(now - Math.max(q.enqueuedAt, w.readySince));
        w.pending.put(task.getTaskId(), now);
        q.workerId = w.workerId;
        q.dispatchedAt = now;
        q.task = task;
        v.putReleased(e.requestId(), q);
        ensureLeaseTimer(v, now + leaseMillis, ctx);
        v.putWorker(w);
        if (w.credits() == 0) {
          free.remove(w);
        } else {
          wi++;
        }
      }
      if (taken) {
        SchedulerMeta m = v.meta;
        m.cursor = order.cursor();
        m.deficits = order.deficits();
        meta.update(m);
      }
    }
    tenantBacklog.put(pool, order.sizesByTenant());
  }

  /** One lease timer per pool, at the earliest expiry of a release not yet confirmed. */
  private void ensureLeaseTimer(PoolView v, long at, Context ctx) {
    if (v.leaseTimer == 0 || at < v.leaseTimer) {
      v.leaseTimer = at;
      ctx.timerService().registerProcessingTimeTimer(at);
    }
  }

  @Override
  public void onTimer(long ts, OnTimerContext ctx, Collector<TaskDispatch> out) throws Exception {
    String pool = ctx.getCurrentKey();
    PoolView v = view(pool);
    long now = ctx.timerService().currentProcessingTime();
    startGrace(now);
    SchedulerMeta m = v.meta;
    if (ts == m.positionTimer) {
      m.positionTimer = 0;
      meta.update(m);
      publishPositions(v, now, ctx);
      ensurePositionTimer(v, now, ctx);
    }
    if (ts >= v.leaseTimer) {
      v.leaseTimer = 0; // fired (timers restored from a checkpoint are not tracked: harmless)
    }
    // Releases not confirmed within the lease go back to the backlog.
    List<String> stale = new ArrayList<>();
    long nextExpiry = Long.MAX_VALUE;
    for (QueuedTask r : v.released.values()) {
      // After a start or restore, releases wait out one lease of grace for their replayed STARTED.
      long expiry = Math.max(r.dispatchedAt + leaseMillis, releaseGraceUntil);
      if (expiry <= now) {
        stale.add(r.task.getTaskId());
      } else {
        nextExpiry = Math.min(nextExpiry, expiry);
      }
    }
    for (String taskId : stale) {
      QueuedTask q = v.released.get(requestIdOf(taskId));
      WorkerSlot w = q == null || q.workerId == null ? null : v.workers.get(q.workerId);
      if (w != null) {
        w.pending.remove(taskId);
        if (w.readySince <= q.dispatchedAt) {
          // Silent since the release (dead or overloaded): no credit until its next READY. A
          // worker that announced since (it skipped the task: a duplicate, fenced, or already
          // rendered) keeps its announced free slots, or an idle one would be busy forever.
          w.freeSlots = 0;
        }
        v.putWorker(w);
      }
      requeueUnconfirmed(taskId, v);
    }
    if (nextExpiry != Long.MAX_VALUE) {
      ensureLeaseTimer(v, nextExpiry, ctx);
    }
    dispatch(pool, v, now, ctx, out);
  }

  /**
   * Publishes the positions that changed since a render's last one, at most once per interval per
   * render: every changed one of the exact prefix, and at most {@code exactPositions} changed
   * estimates per interval beyond it, taken in rotation from where the last interval stopped (so
   * the work per interval does not grow with the backlog, and every estimate is refreshed within
   * {@code backlog / exactPositions} intervals). Walks the in-memory order; a backlog entry is read
   * (for the QUEUED status the update copies) only for a position it publishes.
   */
  private void publishPositions(PoolView v, long now, OnTimerContext ctx) throws Exception {
    DispatchOrder order = v.order;
    if (order.isEmpty()) {
      return;
    }
    List<DispatchOrder.Entry> exact = order.preview(exactPositions);
    Set<String> exactIds = new HashSet<>();
    for (int i = 0; i < exact.size(); i++) {
      String requestId = exact.get(i).requestId();
      exactIds.add(requestId);
      publishPosition(v, requestId, i, false, now, ctx);
    }
    int rest = order.size() - exact.size();
    if (rest <= 0) {
      return;
    }
    String[] ids = new String[rest];
    long[] estimates = new long[rest];
    int[] n = {0};
    order.forEachEstimate(
        (requestId, est) -> {
          if (!exactIds.contains(requestId) && n[0] < rest) {
            ids[n[0]] = requestId;
            estimates[n[0]++] = roughly(Math.max(exactPositions, est));
          }
        });
    int budget = exactPositions;
    int start = (int) (v.estimateCursor % Math.max(1, n[0]));
    int k = 0;
    for (; k < n[0] && budget > 0; k++) {
      int i = (start + k) % n[0];
      if (publishPosition(v, ids[i], estimates[i], true, now, ctx)) {
        budget--;
      }
    }
    v.estimateCursor = start + k;
  }

  /** Publishes one position unless it is unchanged or was published within the interval. */
  private boolean publishPosition(
      PoolView v, String requestId, long pos, boolean estimated, long now, OnTimerContext ctx)
      throws Exception {
    PoolView.Published last = v.published.get(requestId);
    if (last != null) {
      if (last.position() == pos && last.estimated() == estimated) {
        return false;
      }
      if (now - last.at() < positionIntervalMillis) {
        return false;
      }
    }
    QueuedTask q = backlog.get(requestId);
    if (q == null) {
      return false;
    }
    v.published.put(requestId, new PoolView.Published(pos, estimated, now));
    ctx.output(
        POSITIONS,
        RenderStatus.newBuilder(q.status)
            .setQueuePosition(pos)
            .setQueuePositionEstimated(estimated)
            .setVersion(q.status.getVersion() + positionVersion(now - q.enqueuedAt))
            .setUpdatedAt(Instant.ofEpochMilli(now))
            .build());
    return true;
  }

  /**
   * The low version bits of a position update: intervals since the task was queued, rounded up.
   * Updates of one render are at least an interval apart, so this grows with each of them without a
   * counter in state (a restart keeps it growing: it is wall-clock time).
   */
  long positionVersion(long sinceQueued) {
    long intervals = Math.max(1, -Math.floorDiv(-Math.max(0, sinceQueued), positionIntervalMillis));
    return Math.min(intervals, (1L << RenderLifecycle.VERSION_SHIFT) - 1);
  }

  /** Two significant digits: an estimate should not pretend to be exact, nor churn. */
  static long roughly(long n) {
    if (n < 100) {
      return n;
    }
    long scale = 1;
    while (n / scale >= 100) {
      scale *= 10;
    }
    return (n / scale) * scale;
  }

  private void ensurePositionTimer(PoolView v, long now, Context ctx) throws Exception {
    SchedulerMeta m = v.meta;
    if (m.positionTimer == 0 && !v.order.isEmpty()) {
      m.positionTimer = now + positionIntervalMillis;
      ctx.timerService().registerProcessingTimeTimer(m.positionTimer);
      meta.update(m);
    }
  }

  /** The pool's in-memory view, rebuilt from state on its first use after a start or restore. */
  private PoolView view(String pool) throws Exception {
    PoolView v = pools.get(pool);
    if (v == null) {
      SchedulerMeta m = meta.value();
      if (m == null) {
        m = new SchedulerMeta();
      }
      v = new PoolView(new DispatchOrder(quantum, deadlineBucketMillis, m.cursor, m.deficits), m);
      for (Map.Entry<String, QueuedTask> b : backlog.entries()) {
        QueuedTask q = b.getValue();
        v.order.add(v.order.entry(b.getKey(), q.tenant, q.priority, q.deadline, q.seq));
        // Restored tasks come back without an ENQUEUE, which registers the gauge otherwise.
        registerTenantGauge(pool, q.tenant);
      }
      for (Map.Entry<String, WorkerSlot> w : workers.entries()) {
        v.workers.put(w.getKey(), w.getValue());
      }
      for (Map.Entry<String, QueuedTask> r : released.entries()) {
        v.released.put(r.getKey(), r.getValue());
      }
      pools.put(pool, v);
    }
    return v;
  }

  /**
   * What the scheduler reads on every event of one pool, mirrored in memory; every change is
   * written through to the keyed state of the current key (the pool), which stays the record a
   * checkpoint holds.
   */
  private final class PoolView {
    /** The last position published for a queued render (memory only: lost on a restart). */
    record Published(long position, boolean estimated, long at) {}

    final DispatchOrder order;
    final SchedulerMeta meta;
    final TreeMap<String, WorkerSlot> workers = new TreeMap<>();
    final Map<String, QueuedTask> released = new HashMap<>();
    final Map<String, Published> published = new HashMap<>();

    /** The lease timer registered by this instance, 0 when none. */
    long leaseTimer;

    /** Where the next interval's estimate publishing starts (a rotation over the estimates). */
    long estimateCursor;

    PoolView(DispatchOrder order, SchedulerMeta meta) {
      this.order = order;
      this.meta = meta;
    }

    void putWorker(WorkerSlot w) throws Exception {
      workers.put(w.workerId, w);
      DispatchScheduler.this.workers.put(w.workerId, w);
    }

    WorkerSlot removeWorker(String workerId) throws Exception {
      WorkerSlot w = workers.remove(workerId);
      if (w != null) {
        DispatchScheduler.this.workers.remove(workerId);
      }
      return w;
    }

    void putReleased(String requestId, QueuedTask q) throws Exception {
      released.put(requestId, q);
      DispatchScheduler.this.released.put(requestId, q);
    }

    void removeReleased(String requestId) throws Exception {
      if (released.remove(requestId) != null) {
        DispatchScheduler.this.released.remove(requestId);
      }
    }
  }

  private void registerTenantGauge(String pool, String tenant) {
    if (tenantGauges.add(pool + "/" + tenant)) {
      metrics
          .addGroup("pool", pool)
          .addGroup("tenant", tenant)
          .gauge(
              "backlog", () -> tenantBacklog.getOrDefault(pool, Map.of()).getOrDefault(tenant, 0));
    }
  }

  /** Request id of a task id {@code {requestId}:{STAGE}:{attempt}}. */
  static String requestIdOf(String taskId) {
    int last = taskId.lastIndexOf(':');
    int stage = last <= 0 ? -1 : taskId.lastIndexOf(':', last - 1);
    return stage <= 0 ? taskId : taskId.substring(0, stage);
  }

  /** For tests: the tasks currently queued in this key's backlog. */
  Iterator<String> queuedRequestIds() throws Exception {
    return backlog.keys().iterator();
  }
}
