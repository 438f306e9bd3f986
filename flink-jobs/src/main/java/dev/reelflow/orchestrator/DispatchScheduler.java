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
 * coarse estimate (two significant digits) beyond.
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
  private transient Map<String, DispatchOrder> orders;
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
    orders = new HashMap<>();
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
    DispatchOrder order = order(pool);
    if (in.command != null) {
      onCommand(in.command, order, now, ctx);
    } else if (in.workerEvent != null) {
      onWorkerEvent(in.workerEvent, order, now);
    } else if (in.stageEvent != null) {
      onStageEvent(in.stageEvent);
    }
    dispatch(pool, order, now, ctx, out);
  }

  private void onCommand(PoolCommand c, DispatchOrder order, long now, Context ctx)
      throws Exception {
    switch (c.kind) {
      case ENQUEUE -> {
        QueuedTask old = backlog.get(c.requestId);
        if (old != null && old.task.getTaskId().equals(c.task.getTaskId())) {
          return; // a duplicate command after a replay
        }
        released.remove(c.requestId);
        SchedulerMeta m = meta();
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
        order.add(order.entry(c.requestId, q.tenant, q.priority, q.deadline, q.seq));
        // Registered at the first task, so a tenant's series exists (at 0) even when every task
        // of it left the backlog at once.
        registerTenantGauge(ctx.getCurrentKey(), q.tenant);
        ensurePositionTimer(now, ctx);
      }
      case REMOVE -> {
        backlog.remove(c.requestId);
        released.remove(c.requestId);
        order.remove(c.requestId);
      }
      case REPRIORITIZE -> {
        QueuedTask q = backlog.get(c.requestId);
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

  private void onWorkerEvent(WorkerEvent e, DispatchOrder order, long now) throws Exception {
    String id = e.getWorkerId();
    switch (e.getType()) {
      case READY -> {
        WorkerSlot w = workers.get(id);
        if (w == null) {
          w = new WorkerSlot();
          w.workerId = id;
        }
        w.freeSlots = Math.max(0, e.getFreeSlots());
        w.partitions = new ArrayList<>(e.getOwnedPartitions());
        w.draining = false;
        Set<String> running = new HashSet<>(e.getRunningTaskIds());
        w.pending.keySet().removeIf(running::contains);
        w.pending.values().removeIf(at -> at + leaseMillis <= now);
        for (String taskId : running) {
          confirm(taskId);
        }
        w.readySince = now;
        workers.put(id, w);
      }
      case DRAINING -> {
        WorkerSlot w = workers.get(id);
        if (w != null) {
          w.draining = true;
          workers.put(id, w);
        }
      }
      case STOPPED -> {
        WorkerSlot w = workers.get(id);
        workers.remove(id);
        if (w != null) {
          // Releases it never confirmed go back to the head of the backlog.
          for (String taskId : w.pending.keySet()) {
            requeueUnconfirmed(taskId, order);
          }
        }
      }
      default -> {}
    }
  }

  private void onStageEvent(StageEvent e) throws Exception {
    QueuedTask q = released.get(e.getRequestId());
    if (q == null || !q.task.getTaskId().equals(e.getTaskId())) {
      return;
    }
    released.remove(e.getRequestId());
    WorkerSlot w = workers.get(q.workerId);
    if (w != null && w.pending.remove(e.getTaskId()) != null) {
      workers.put(w.workerId, w);
    }
    // The slot the task took is no longer free on the worker that runs it.
    WorkerSlot runner = workers.get(e.getWorkerId());
    if (runner != null) {
      runner.freeSlots = Math.max(0, runner.freeSlots - 1);
      workers.put(runner.workerId, runner);
    }
  }

  private void startGrace(long now) {
    if (releaseGraceUntil == 0) {
      releaseGraceUntil = now + leaseMillis;
    }
  }

  private void confirm(String taskId) throws Exception {
    String requestId = requestIdOf(taskId);
    QueuedTask q = released.get(requestId);
    if (q != null && q.task.getTaskId().equals(taskId)) {
      released.remove(requestId);
    }
  }

  private void requeueUnconfirmed(String taskId, DispatchOrder order) throws Exception {
    String requestId = requestIdOf(taskId);
    QueuedTask q = released.get(requestId);
    if (q == null || !q.task.getTaskId().equals(taskId)) {
      return;
    }
    released.remove(requestId);
    q.workerId = null;
    backlog.put(requestId, q);
    order.add(order.entry(requestId, q.tenant, q.priority, q.deadline, q.seq));
    redispatched.inc();
    LOG.info("release of {} was not confirmed by its worker; queued again", taskId);
  }

  private void dispatch(
      String pool, DispatchOrder order, long now, Context ctx, Collector<TaskDispatch> out)
      throws Exception {
    if (!order.isEmpty()) {
      List<WorkerSlot> free = new ArrayList<>();
      for (WorkerSlot w : workers.values()) {
        if (w.credits() > 0) {
          free.add(w);
        }
      }
      free.sort((a, b) -> a.workerId.compareTo(b.workerId));
      int wi = 0;
      boolean released = false;
      while (!order.isEmpty() && !free.isEmpty()) {
        WorkerSlot w = free.get(wi % free.size());
        DispatchOrder.Entry e = order.next();
        QueuedTask q = backlog.get(e.requestId());
        backlog.remove(e.requestId());
        released = true;
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
        this.released.put(e.requestId(), q);
        ctx.timerService().registerProcessingTimeTimer(now + leaseMillis);
        workers.put(w.workerId, w);
        if (w.credits() == 0) {
          free.remove(w);
        } else {
          wi++;
        }
      }
      if (released) {
        SchedulerMeta m = meta();
        m.cursor = order.cursor();
        m.deficits = order.deficits();
        meta.update(m);
      }
    }
    tenantBacklog.put(pool, order.sizesByTenant());
  }

  @Override
  public void onTimer(long ts, OnTimerContext ctx, Collector<TaskDispatch> out) throws Exception {
    String pool = ctx.getCurrentKey();
    DispatchOrder order = order(pool);
    long now = ctx.timerService().currentProcessingTime();
    startGrace(now);
    SchedulerMeta m = meta();
    if (ts == m.positionTimer) {
      m.positionTimer = 0;
      meta.update(m);
      publishPositions(order, now, ctx);
      ensurePositionTimer(now, ctx);
    }
    // Releases not confirmed within the lease go back to the backlog.
    List<String> stale = new ArrayList<>();
    boolean deferred = false;
    for (Map.Entry<String, QueuedTask> r : released.entries()) {
      if (r.getValue().dispatchedAt + leaseMillis <= now) {
        if (now < releaseGraceUntil) {
          deferred = true;
        } else {
          stale.add(r.getValue().task.getTaskId());
        }
      }
    }
    if (deferred) {
      ctx.timerService().registerProcessingTimeTimer(releaseGraceUntil);
    }
    for (String taskId : stale) {
      QueuedTask q = released.get(requestIdOf(taskId));
      WorkerSlot w = q == null || q.workerId == null ? null : workers.get(q.workerId);
      if (w != null) {
        // A worker that did not confirm within the lease gets no credit until its next READY.
        w.pending.remove(taskId);
        w.freeSlots = 0;
        workers.put(w.workerId, w);
      }
      requeueUnconfirmed(taskId, order);
    }
    dispatch(pool, order, now, ctx, out);
  }

  private void publishPositions(DispatchOrder order, long now, OnTimerContext ctx)
      throws Exception {
    if (order.isEmpty()) {
      return;
    }
    Map<String, Long> positions = new HashMap<>();
    List<DispatchOrder.Entry> exact = order.preview(exactPositions);
    for (int i = 0; i < exact.size(); i++) {
      positions.put(exact.get(i).requestId(), (long) i);
    }
    Map<String, Long> estimates = order.size() > exact.size() ? order.estimates() : Map.of();
    for (Map.Entry<String, QueuedTask> b : backlog.entries()) {
      String requestId = b.getKey();
      QueuedTask q = b.getValue();
      Long pos = positions.get(requestId);
      boolean estimated = false;
      if (pos == null) {
        Long est = estimates.get(requestId);
        if (est == null) {
          continue;
        }
        pos = roughly(Math.max(exactPositions, est));
        estimated = true;
      }
      if (pos.equals(q.lastPosition) && estimated == q.lastEstimated) {
        continue;
      }
      if (q.lastPositionAt != 0 && now - q.lastPositionAt < positionIntervalMillis) {
        continue;
      }
      q.positionUpdates++;
      q.lastPosition = pos;
      q.lastEstimated = estimated;
      q.lastPositionAt = now;
      backlog.put(requestId, q);
      ctx.output(
          POSITIONS,
          RenderStatus.newBuilder(q.status)
              .setQueuePosition(pos)
              .setQueuePositionEstimated(estimated)
              .setVersion(
                  q.status.getVersion()
                      + Math.min(q.positionUpdates, (1L << RenderLifecycle.VERSION_SHIFT) - 1))
              .setUpdatedAt(Instant.ofEpochMilli(now))
              .build());
    }
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

  private void ensurePositionTimer(long now, Context ctx) throws Exception {
    SchedulerMeta m = meta();
    if (m.positionTimer == 0 && !backlog.isEmpty()) {
      m.positionTimer = now + positionIntervalMillis;
      ctx.timerService().registerProcessingTimeTimer(m.positionTimer);
      meta.update(m);
    }
  }

  private DispatchOrder order(String pool) throws Exception {
    DispatchOrder o = orders.get(pool);
    if (o == null) {
      SchedulerMeta m = meta();
      o = new DispatchOrder(quantum, deadlineBucketMillis, m.cursor, m.deficits);
      for (Map.Entry<String, QueuedTask> b : backlog.entries()) {
        QueuedTask q = b.getValue();
        o.add(o.entry(b.getKey(), q.tenant, q.priority, q.deadline, q.seq));
        // Restored tasks come back without an ENQUEUE, which registers the gauge otherwise.
        registerTenantGauge(pool, q.tenant);
      }
      orders.put(pool, o);
    }
    return o;
  }

  private SchedulerMeta meta() throws Exception {
    SchedulerMeta m = meta.value();
    return m == null ? new SchedulerMeta() : m;
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
