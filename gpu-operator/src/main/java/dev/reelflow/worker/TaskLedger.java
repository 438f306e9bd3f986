package dev.reelflow.worker;

import dev.reelflow.schemas.avro.RenderTask;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this process remembers about tasks, so at-least-once delivery never renders twice: task ids
 * already finished (LRU), the highest attempt seen per render and stage (older attempts are
 * fenced), and renders cancelled by a command (their tasks are refused if they arrive late).
 */
final class TaskLedger {

  /** Why a task is skipped, or null to run it. */
  enum Verdict {
    RUN,
    DUPLICATE,
    FENCED,
    CANCELLED
  }

  private final Map<String, Boolean> done;
  private final Map<String, Integer> maxAttempt;
  private final Map<String, Boolean> cancelled;

  /**
   * Tasks admitted and not yet finished or handed back: a second delivery of the same attempt
   * (released again after its lease while it ran here, under load) is a duplicate, not a second
   * run.
   */
  private final Set<String> inProgress = ConcurrentHashMap.newKeySet();

  TaskLedger(int capacity) {
    this.done = Collections.synchronizedMap(lru(capacity));
    this.maxAttempt = Collections.synchronizedMap(lru(capacity));
    this.cancelled = Collections.synchronizedMap(lru(capacity));
  }

  private static <V> Map<String, V> lru(int capacity) {
    return new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > capacity;
      }
    };
  }

  /** Decides whether to run {@code task}; records its attempt when it runs. */
  Verdict admit(RenderTask task) {
    String id = task.getTaskId();
    if (done.containsKey(id)) {
      return Verdict.DUPLICATE;
    }
    if (cancelled.containsKey(task.getRequestId())) {
      return Verdict.CANCELLED;
    }
    String renderStage = task.getRequestId() + ":" + task.getStage();
    synchronized (maxAttempt) {
      Integer max = maxAttempt.get(renderStage);
      if (max != null && max > task.getAttempt()) {
        return Verdict.FENCED;
      }
      if (!inProgress.add(id)) {
        return Verdict.DUPLICATE;
      }
      maxAttempt.put(renderStage, task.getAttempt());
    }
    return Verdict.RUN;
  }

  /**
   * Forgets an admitted task once its run ended, however (the finished tasks stay remembered by
   * {@link #finished}), or when it was not run after all (fenced before it started).
   */
  void ended(String taskId) {
    inProgress.remove(taskId);
  }

  /**
   * Remembers that the task finished (completed, or failed for good), so a redelivery is skipped.
   */
  void finished(String taskId) {
    done.put(taskId, Boolean.TRUE);
    inProgress.remove(taskId);
  }

  /** Forgets a task that was handed back (drained), so a redelivery may run it again. */
  void handedBack(String taskId) {
    done.remove(taskId);
    inProgress.remove(taskId);
  }

  void cancelled(String requestId) {
    cancelled.put(requestId, Boolean.TRUE);
  }

  boolean isCancelled(String requestId) {
    return cancelled.containsKey(requestId);
  }
}
