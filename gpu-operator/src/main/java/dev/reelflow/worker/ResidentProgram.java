package dev.reelflow.worker;

import dev.reelflow.config.Durations;
import dev.reelflow.engine.StepListener;
import dev.reelflow.worker.ResidentProtocol.Message;
import dev.reelflow.worker.spi.EngineContext;
import dev.reelflow.worker.spi.EngineException;
import dev.reelflow.worker.spi.EngineStatus;
import dev.reelflow.worker.spi.TaskCancelledException;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One resident model program under supervision: started once, it loads its model and says {@code
 * ready}; then it gets tasks one line at a time and answers progress and a final message per task
 * (the protocol: {@code gpu-operator/docs/resident-protocol.md}).
 *
 * <p>Supervision: a task the program does not stop within {@code cancel-grace} after a cancel (or
 * after its {@code task-timeout}) gets the whole process tree killed and the program started again
 * at once; a program that dies on its own fails its running tasks as retryable and is started again
 * after a backoff that doubles with each consecutive crash; a program that fails {@code
 * max-start-failures} starts in a row (exit, error or {@code load-timeout} before ready) is given
 * up: {@link #status()} turns UNAVAILABLE with the reason and nothing is started again. Every
 * message, restart and load goes to the log and to {@link Telemetry}; stderr goes to the log line
 * by line, and its last lines into failure reasons.
 */
final class ResidentProgram implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ResidentProgram.class);
  private static final int STDERR_TAIL_LINES = 30;
  private static final int REASON_TAIL_CHARS = 400;
  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /** Where traffic, restarts and loads are counted (the worker's Prometheus metrics). */
  interface Telemetry {
    /** A protocol message ({@code out}: to the program, {@code in}: from it) or stderr line. */
    void message(String direction, String type);

    /** The program is started again; {@code reason} is a metric label, e.g. {@code crash_task}. */
    void restart(String reason);

    /** The program said ready {@code seconds} after it was started. */
    void loaded(double seconds);

    Telemetry NONE =
        new Telemetry() {
          @Override
          public void message(String direction, String type) {}

          @Override
          public void restart(String reason) {}

          @Override
          public void loaded(double seconds) {}
        };
  }

  /**
   * What the program said in its ready message.
   *
   * @param model model id for manifests
   * @param weights weights id for manifests
   * @param emulated true when the program renders no real content (a test stand-in)
   * @param maxTasks tasks it runs at once
   * @param memoryBytes device memory it holds after loading, 0 when it did not say
   * @param defaultSteps its default steps, 0 when it did not say
   * @param facts facts for every manifest
   * @param loadSeconds time from start to ready
   */
  record ReadyInfo(
      String model,
      String weights,
      boolean emulated,
      int maxTasks,
      long memoryBytes,
      int defaultSteps,
      Map<String, String> facts,
      double loadSeconds) {}

  /** How a task ended: the program's final message, or its death. */
  record Outcome(Kind kind, Message message, String detail) {
    enum Kind {
      /** A result message. */
      RESULT,
      /** An error message. */
      ERROR,
      /** A cancelled message. */
      CANCELLED,
      /** The program died on its own. */
      CRASHED,
      /** The worker killed the program (cancel or timeout not honoured, give-up, shutdown). */
      KILLED
    }
  }

  /** A task sent to the program and not ended yet. */
  private static final class Task {
    final String id;
    final Run run;
    final StepListener progress;
    final CompletableFuture<Outcome> outcome = new CompletableFuture<>();

    Task(String id, Run run, StepListener progress) {
      this.id = id;
      this.run = run;
      this.progress = progress;
    }
  }

  /** One started process of the program. */
  private final class Run {
    final Process process;
    final int number;
    final long startedNanos = System.nanoTime();
    final BufferedWriter stdin;
    final Deque<String> stderrTail = new ArrayDeque<>();
    final Map<String, Task> tasks = new ConcurrentHashMap<>();
    final AtomicBoolean exitHandled = new AtomicBoolean();
    volatile boolean readySeen;
    volatile String killReason;
    volatile String killKind;
    volatile Thread stdoutReader;
    volatile ScheduledFuture<?> loadTimer;

    Run(Process process, int number) {
      this.process = process;
      this.number = number;
      this.stdin =
          new BufferedWriter(
              new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
    }

    String tail() {
      synchronized (stderrTail) {
        return String.join("\n", stderrTail);
      }
    }
  }

  private final ResidentOptions options;
  private final String stage;
  private final ScheduledExecutorService supervisor;
  private volatile Telemetry telemetry = Telemetry.NONE;
  private volatile String label;

  // Guarded by this.
  private Run current;
  private EngineStatus status;
  private ReadyInfo ready;
  private int starts;
  private int startFailures;
  private int crashes;
  private int inFlight;
  private boolean gaveUp;
  private boolean closed;
  private ScheduledFuture<?> pendingRestart;

  private ResidentProgram(ResidentOptions options, String stage) {
    this.options = options;
    this.stage = stage;
    this.label = options.programName() + "#" + INSTANCES.incrementAndGet();
    this.status = EngineStatus.loading("starting " + options.programName());
    this.supervisor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "resident-supervisor-" + label);
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * Starts the program for {@code stage} ({@code base} or {@code upscale}); loads in background.
   */
  static ResidentProgram start(ResidentOptions options, String stage) {
    ResidentProgram p = new ResidentProgram(options, stage);
    synchronized (p) {
      p.spawn("loading the model");
    }
    return p;
  }

  /**
   * Reports to {@code t} from now on, and names the program after {@code name} (a worker id) in
   * logs; the first binding wins (a program shared by the slots of a process keeps the first).
   */
  synchronized void bind(Telemetry t, String name) {
    if (telemetry == Telemetry.NONE) {
      telemetry = t;
      label = name + "/" + options.programName();
    }
  }

  /** READY, LOADING (starting or restarting), BUSY (all its task places taken), UNAVAILABLE. */
  synchronized EngineStatus status() {
    if (status.isReady() && ready != null && inFlight >= ready.maxTasks()) {
      return EngineStatus.busy(
          "the shared program runs " + inFlight + " task(s), its max_tasks " + ready.maxTasks());
    }
    return status;
  }

  /** What the program said when it was last ready, or null before its first ready. */
  synchronized ReadyInfo readyInfo() {
    return ready;
  }

  /** Processes started so far (1 + restarts). */
  synchronized int starts() {
    return starts;
  }

  /** The pid of the running process, or -1. */
  synchronized long pid() {
    return current == null ? -1 : current.process.pid();
  }

  // ---------------------------------------------------------------- starting and restarting

  /** Starts a process; called with the lock held. */
  private void spawn(String why) {
    if (closed || gaveUp) {
      return;
    }
    ProcessBuilder pb = new ProcessBuilder(options.command());
    if (options.directory() != null) {
      pb.directory(options.directory().toFile());
    }
    pb.environment().put("REELFLOW_RESIDENT_PROTOCOL", Integer.toString(ResidentProtocol.VERSION));
    pb.environment().put("REELFLOW_RESIDENT_STAGE", stage);
    // Python buffers a piped stdout in blocks; protocol lines must leave at once.
    pb.environment().put("PYTHONUNBUFFERED", "1");
    pb.environment().putAll(options.env());
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      gaveUp = true;
      status =
          EngineStatus.unavailable(
              "cannot start "
                  + options.command().get(0)
                  + ": "
                  + e.getMessage()
                  + "; check engine.resident.command"
                  + (options.directory() == null ? "" : " and engine.resident.directory"));
      LOG.error("{}: {}", label, status.reason());
      notifyAll();
      return;
    }
    starts++;
    Run run = new Run(process, starts);
    current = run;
    status = EngineStatus.loading(why);
    LOG.info(
        "{}: started {} (pid {}, start {}): {}",
        label,
        String.join(" ", options.command()),
        process.pid(),
        starts,
        why);
    Thread out = new Thread(() -> readStdout(run), "resident-out-" + process.pid());
    out.setDaemon(true);
    run.stdoutReader = out;
    out.start();
    Thread err = new Thread(() -> readStderr(run), "resident-err-" + process.pid());
    err.setDaemon(true);
    err.start();
    process.onExit().thenRunAsync(() -> exited(run), supervisor);
    run.loadTimer =
        supervisor.schedule(
            () -> loadTimedOut(run), options.loadTimeout().toMillis(), TimeUnit.MILLISECONDS);
    notifyAll();
  }

  private void loadTimedOut(Run run) {
    synchronized (this) {
      if (run != current || run.readySeen || closed) {
        return;
      }
    }
    kill(
        run,
        "load_timeout",
        "not ready within engine.resident.load-timeout=" + Durations.format(options.loadTimeout()));
  }

  /** Handles the end of a process (on the supervisor thread, or from close); runs once per run. */
  private void exited(Run run) {
    if (!run.exitHandled.compareAndSet(false, true)) {
      return;
    }
    Thread reader = run.stdoutReader;
    if (reader != null) {
      try {
        reader.join(2_000); // final lines written just before the exit still count
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    int code = run.process.exitValue();
    String tail = run.tail();
    String died =
        run.killReason != null
            ? "killed: " + run.killReason
            : "exited with code " + code + (tail.isEmpty() ? "" : "; last stderr:\n" + tail);
    List<Task> orphaned = new ArrayList<>();
    for (String id : List.copyOf(run.tasks.keySet())) {
      Task t = run.tasks.remove(id);
      if (t != null) {
        orphaned.add(t);
      }
    }
    boolean expected;
    synchronized (this) {
      expected = closed || run.killReason != null;
    }
    if (expected) {
      LOG.info("{}: the program (pid {}) {}", label, run.process.pid(), died);
    } else {
      LOG.warn("{}: the program (pid {}) {}", label, run.process.pid(), died);
    }
    String restartKind = null;
    long delayMs = 0;
    synchronized (this) {
      inFlight -= orphaned.size();
      if (run.loadTimer != null) {
        run.loadTimer.cancel(false);
      }
      if (run == current) {
        current = null;
        String shortDied = shorten(died);
        if (closed || gaveUp) {
          // nothing to restart
        } else if (!run.readySeen) {
          startFailures++;
          String failure =
              run.killReason != null
                  ? run.killReason
                  : "exited with code "
                      + code
                      + " before it was ready"
                      + (tail.isEmpty() ? "" : "; last stderr: " + shorten(tail));
          if (startFailures >= options.maxStartFailures()) {
            gaveUp = true;
            status =
                EngineStatus.unavailable(
                    "the program failed to start "
                        + startFailures
                        + " times in a row (engine.resident.max-start-failures="
                        + options.maxStartFailures()
                        + "); last: "
                        + failure
                        + ". Fix the cause and restart the worker");
            LOG.error("{}: giving up, the slot takes no task: {}", label, status.reason());
          } else {
            restartKind = run.killKind != null ? run.killKind : "start_failed";
            delayMs = backoff(startFailures);
          }
        } else if (run.killKind != null) {
          restartKind = run.killKind; // we killed it (cancel or timeout not honoured): at once
        } else {
          crashes++;
          restartKind = orphaned.isEmpty() ? "crash_idle" : "crash_task";
          delayMs = backoff(crashes);
        }
        if (restartKind != null) {
          LOG.warn("{}: restarting the program ({}) in {} ms", label, restartKind, delayMs);
          String why = "loading the model again after the program " + shortDied;
          if (delayMs > 0) {
            status =
                EngineStatus.loading(
                    "restarting in " + delayMs + " ms after the program " + shortDied);
            pendingRestart =
                supervisor.schedule(() -> restart(why), delayMs, TimeUnit.MILLISECONDS);
          } else {
            spawn(why);
          }
        }
      }
      notifyAll();
    }
    for (Task t : orphaned) {
      t.outcome.complete(
          new Outcome(
              run.killReason != null ? Outcome.Kind.KILLED : Outcome.Kind.CRASHED, null, died));
    }
    if (restartKind != null) {
      telemetry.restart(restartKind);
    }
  }

  private synchronized void restart(String why) {
    pendingRestart = null;
    spawn(why);
  }

  private long backoff(int failures) {
    long base = options.restartBackoff().toMillis();
    long max = options.restartBackoffMax().toMillis();
    long d = base;
    for (int i = 1; i < failures && d < max; i++) {
      d *= 2;
    }
    return Math.min(d, max);
  }

  /** Kills the process tree of {@code run}; its exit handler restarts or gives up. */
  private void kill(Run run, String kind, String reason) {
    run.killKind = kind;
    run.killReason = reason;
    LOG.warn(
        "{}: killing the program (pid {}) and its children: {}", label, run.process.pid(), reason);
    CommandEngine.killTree(run.process);
  }

  /** Gives up on the program: UNAVAILABLE with {@code reason}, never started again. */
  private void giveUp(Run run, String reason) {
    synchronized (this) {
      gaveUp = true;
      status = EngineStatus.unavailable(reason);
      notifyAll();
    }
    LOG.error("{}: giving up, the slot takes no task: {}", label, reason);
    kill(run, null, reason);
  }

  // ---------------------------------------------------------------- reading the program

  private void readStdout(Run run) {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(run.process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        Message m = ResidentProtocol.parse(line);
        if (m == null) {
          telemetry.message("in", "unparsed");
          LOG.info("{} stdout (not a protocol message): {}", label, shorten(line));
          continue;
        }
        telemetry.message("in", m.type());
        try {
          handle(run, m);
        } catch (RuntimeException e) {
          LOG.warn("{}: cannot handle its {} message: {}", label, m.type(), e.toString());
        }
      }
    } catch (IOException e) {
      LOG.debug("{}: stdout closed: {}", label, e.toString());
    }
  }

  private void readStderr(Run run) {
    InputStream in = run.process.getErrorStream();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        // tqdm-style redraws: keep the newest segment.
        int cr = line.lastIndexOf('\r', line.length() - 2);
        String seg = cr >= 0 ? line.substring(cr + 1) : line;
        if (seg.isBlank()) {
          continue;
        }
        telemetry.message("stderr", "line");
        LOG.info("{} stderr: {}", label, seg);
        synchronized (run.stderrTail) {
          run.stderrTail.addLast(seg);
          if (run.stderrTail.size() > STDERR_TAIL_LINES) {
            run.stderrTail.removeFirst();
          }
        }
      }
    } catch (IOException e) {
      LOG.debug("{}: stderr closed: {}", label, e.toString());
    }
  }

  private void handle(Run run, Message m) {
    switch (m.type()) {
      case "loading" -> {
        long done = m.number("done", -1);
        long total = m.number("total", -1);
        LOG.info(
            "{} loading{}: {}",
            label,
            done >= 0 && total > 0 ? " (" + done + "/" + total + ")" : "",
            m.text("message"));
      }
      case "ready" -> onReady(run, m);
      case "progress" -> {
        Task t = m.id() == null ? null : run.tasks.get(m.id());
        long step = m.number("step", -1);
        long total = m.number("total", -1);
        String phase = m.has("phase") ? m.text("phase") : "denoise";
        if (t == null) {
          LOG.debug("{}: progress for task {} it is not running (ignored)", label, m.id());
        } else if (total > 0 && step >= 0 && step <= total) {
          LOG.info("{} progress {} {} {}/{}", label, m.id(), phase, step, total);
          t.progress.onStep(phase, (int) step, (int) total);
        } else {
          LOG.warn("{}: progress with step {} of {} for {} (ignored)", label, step, total, m.id());
        }
      }
      case "log" -> log(m);
      case "result" -> finish(run, m, Outcome.Kind.RESULT);
      case "cancelled" -> finish(run, m, Outcome.Kind.CANCELLED);
      case "error" -> {
        if (m.id() != null) {
          finish(run, m, Outcome.Kind.ERROR);
        } else if (!run.readySeen) {
          String msg =
              "the program failed to load: "
                  + m.text("code")
                  + " "
                  + m.text("message")
                  + (m.flag("retryable", true) ? "" : " (permanent)");
          if (m.flag("retryable", true)) {
            kill(run, "start_failed", msg);
          } else {
            giveUp(run, msg);
          }
        } else {
          LOG.error("{} reported an error outside any task: {}", label, m.text("message"));
        }
      }
      default -> LOG.warn("{} sent a message of unknown type '{}' (ignored)", label, m.type());
    }
  }

  private void onReady(Run run, Message m) {
    long protocol = m.number("protocol", -1);
    List<String> stages = m.list("stages");
    String problem = null;
    if (protocol != ResidentProtocol.VERSION) {
      problem =
          "the program speaks protocol "
              + protocol
              + " but the worker speaks "
              + ResidentProtocol.VERSION;
    } else if (!stages.contains(stage)) {
      problem =
          "the program serves stages "
              + stages
              + " but this worker's pool runs the "
              + stage
              + " stage; start the program for that stage";
    }
    if (problem != null) {
      giveUp(run, problem);
      return;
    }
    double seconds = (System.nanoTime() - run.startedNanos) / 1e9;
    ReadyInfo info =
        new ReadyInfo(
            m.has("model") ? m.text("model") : options.modelId(),
            m.has("weights") ? m.text("weights") : options.weightsId(),
            m.flag("emulated", false),
            (int) Math.max(1, m.number("max_tasks", 1)),
            Math.max(0, m.number("memory_bytes", 0)),
            (int) Math.max(0, m.number("default_steps", 0)),
            Map.copyOf(m.strings("facts")),
            seconds);
    synchronized (this) {
      if (run != current || run.readySeen || closed) {
        LOG.warn("{}: ready from a process that is not current (ignored)", label);
        return;
      }
      run.readySeen = true;
      if (run.loadTimer != null) {
        run.loadTimer.cancel(false);
      }
      ready = info;
      startFailures = 0;
      status = EngineStatus.ready();
      notifyAll();
    }
    telemetry.loaded(seconds);
    LOG.info(
        "{}: ready after {} s (start {}): model {}, weights {}, max_tasks {}{}{}",
        label,
        String.format(Locale.ROOT, "%.2f", seconds),
        run.number,
        info.model(),
        info.weights(),
        info.maxTasks(),
        info.memoryBytes() > 0 ? ", memory " + (info.memoryBytes() >> 20) + " MiB" : "",
        info.emulated() ? ", EMULATED (renders no real content)" : "");
  }

  private void log(Message m) {
    String level = m.has("level") ? m.text("level").toLowerCase(Locale.ROOT) : "info";
    String text = m.text("message");
    String id = m.id() == null ? "" : " [" + m.id() + "]";
    switch (level) {
      case "debug" -> LOG.debug("{}{}: {}", label, id, text);
      case "warn", "warning" -> LOG.warn("{}{}: {}", label, id, text);
      case "error" -> LOG.error("{}{}: {}", label, id, text);
      default -> LOG.info("{}{}: {}", label, id, text);
    }
  }

  private void finish(Run run, Message m, Outcome.Kind kind) {
    Task t = m.id() == null ? null : run.tasks.remove(m.id());
    if (t == null) {
      LOG.warn("{}: {} for task {} it is not running (ignored)", label, m.type(), m.id());
      return;
    }
    LOG.info(
        "{}: {} {}{}",
        label,
        m.type(),
        m.id(),
        kind == Outcome.Kind.ERROR ? " " + m.text("code") + ": " + m.text("message") : "");
    synchronized (this) {
      inFlight--;
      if (kind != Outcome.Kind.CANCELLED) {
        crashes = 0; // it finished a task: the next crash starts the backoff afresh
      }
      notifyAll();
    }
    t.outcome.complete(new Outcome(kind, m, null));
  }

  // ---------------------------------------------------------------- running tasks

  /**
   * Sends a task and waits for its end. Waits first until the program is ready and has a free task
   * place (a slot may get a task while the program restarts). Cancels through the protocol when
   * {@code context} asks to stop or the task timeout passes, and kills the process tree when the
   * program does not stop within the grace period.
   *
   * @throws TaskCancelledException when the task was cancelled (drain, command, worker timeout)
   * @throws EngineException TIMEOUT after {@code task-timeout}; ENGINE_ERROR (retryable) when the
   *     program is unavailable or closed
   */
  Outcome run(String id, String taskLine, EngineContext context)
      throws EngineException, InterruptedException {
    Task t = submit(id, taskLine, context);
    long deadline = System.nanoTime() + options.taskTimeout().toNanos();
    long stopBy = 0;
    boolean timedOut = false;
    boolean killed = false;
    try {
      while (true) {
        Outcome o = await(t, 100);
        if (o != null) {
          context.checkCancelled(); // a cancel wins over an answer that crossed it
          if (timedOut) {
            throw EngineException.timeout(
                "task "
                    + id
                    + " ran longer than engine.resident.task-timeout="
                    + Durations.format(options.taskTimeout())
                    + (killed ? "; the program did not stop and was restarted" : ""));
          }
          return o;
        }
        long now = System.nanoTime();
        if (stopBy == 0) {
          if (context.cancelRequested()) {
            send(t.run, "cancel", ResidentProtocol.cancel(id, cancelReason(context)));
            stopBy = now + options.cancelGrace().toNanos();
          } else if (now > deadline) {
            timedOut = true;
            send(t.run, "cancel", ResidentProtocol.cancel(id, "task timeout"));
            stopBy = now + options.cancelGrace().toNanos();
          }
        } else if (!killed && now > stopBy) {
          killed = true;
          kill(
              t.run,
              timedOut ? "task_timeout" : "cancel_timeout",
              "task "
                  + id
                  + " did not stop within engine.resident.cancel-grace="
                  + Durations.format(options.cancelGrace())
                  + " after "
                  + (timedOut ? "its timeout" : "a cancel"));
        }
      }
    } catch (InterruptedException e) {
      send(t.run, "cancel", ResidentProtocol.cancel(id, "the worker is stopping"));
      throw e;
    }
  }

  private static String cancelReason(EngineContext context) {
    try {
      context.checkCancelled();
      return "cancelled";
    } catch (TaskCancelledException e) {
      return e.code() + ": " + e.getMessage();
    }
  }

  private static Outcome await(Task t, long millis) throws InterruptedException {
    try {
      return t.outcome.get(millis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return null;
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private Task submit(String id, String line, EngineContext context)
      throws EngineException, InterruptedException {
    Task t;
    synchronized (this) {
      while (true) {
        if (closed) {
          throw EngineException.engineError(
              "the resident program is shut down (the worker is stopping)", null);
        }
        if (gaveUp) {
          throw EngineException.engineError(
              "the resident program is unavailable: " + status.reason(), null);
        }
        if (status.isReady() && current != null && inFlight < ready.maxTasks()) {
          break;
        }
        context.checkCancelled();
        wait(100);
      }
      inFlight++;
      t = new Task(id, current, context.listener());
      current.tasks.put(id, t);
    }
    send(t.run, "task", line);
    return t;
  }

  private void send(Run run, String type, String line) {
    try {
      synchronized (run.stdin) {
        run.stdin.write(line);
        run.stdin.write('\n');
        run.stdin.flush();
      }
      telemetry.message("out", type);
      LOG.info(
          "{} <- {}",
          label,
          line.length() <= REASON_TAIL_CHARS ? line : line.substring(0, REASON_TAIL_CHARS) + "…");
    } catch (IOException e) {
      // The program is exiting; its exit handler ends the task.
      LOG.warn("{}: cannot send {} (the program is exiting?): {}", label, type, e.toString());
    }
  }

  // ---------------------------------------------------------------- closing

  /**
   * Sends shutdown and waits {@code shutdown-grace} for the exit, then kills the process tree.
   * Tasks still running end as KILLED.
   */
  @Override
  public void close() {
    Run run;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (pendingRestart != null) {
        pendingRestart.cancel(false);
      }
      run = current;
      status = EngineStatus.unavailable("the worker is stopping");
      notifyAll();
    }
    if (run != null) {
      if (run.process.isAlive()) {
        send(run, "shutdown", ResidentProtocol.shutdown());
        try {
          run.stdin.close();
        } catch (IOException e) {
          LOG.debug("{}: closing stdin: {}", label, e.toString());
        }
        boolean exited;
        try {
          exited = run.process.waitFor(options.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          exited = false;
        }
        if (!exited) {
          kill(
              run,
              null,
              "it did not exit within engine.resident.shutdown-grace="
                  + Durations.format(options.shutdownGrace())
                  + " after shutdown");
        } else if (run.killReason == null) {
          run.killReason = "the worker is stopping";
        }
      }
      try {
        run.process.waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (!run.process.isAlive()) {
        exited(run);
      }
    }
    supervisor.shutdownNow();
    LOG.info("{}: closed after {} start(s)", label, starts());
  }

  private static String shorten(String s) {
    String flat = s.replace('\n', ' ').strip();
    return flat.length() <= REASON_TAIL_CHARS
        ? flat
        : "…" + flat.substring(flat.length() - REASON_TAIL_CHARS);
  }
}
