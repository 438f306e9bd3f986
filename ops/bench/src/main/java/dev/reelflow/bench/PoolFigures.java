package dev.reelflow.bench;

/**
 * The figures the pipeline and sharegroup suites both report, named alike so that the two delivery
 * models compare line by line: idle-pool dispatch latency, the busy pool's makespan and busy
 * fraction, and the waits behind a bulk (fairness, priority).
 */
record PoolFigures(
    Figure.Builder p50,
    Figure.Builder p99,
    Figure.Builder makespan,
    Figure.Builder busy,
    Figure.Builder fair,
    Figure.Builder prio) {

  /**
   * @param latency what the dispatch latency measures, in the figure's parentheses
   * @param unit what one queued item is called ("render", "task")
   */
  static PoolFigures of(String latency, String unit, int busyTasks, int workers, int fairBulk) {
    String work = busyTasks + " tasks on " + workers + " workers";
    String behindBulk = "FIFO wait behind the bulk (its ideal makespan)";
    return new PoolFigures(
        new Figure.Builder(
            "dispatch latency p50, idle pool (" + latency + ")",
            "ms",
            "Kafka produce-to-consume round trip p50",
            Figure.BaselineKind.MEASURED),
        new Figure.Builder(
            "dispatch latency p99, idle pool (" + latency + ")",
            "ms",
            "Kafka produce-to-consume round trip p99",
            Figure.BaselineKind.MEASURED),
        new Figure.Builder(
            "makespan, " + work,
            "s",
            "ideal makespan (tasks x duration / workers)",
            Figure.BaselineKind.IDEAL),
        new Figure.Builder(
            "busy fraction, " + work,
            "fraction",
            "every worker busy (1.0)",
            Figure.BaselineKind.IDEAL),
        new Figure.Builder(
            "fairness: tenant B's " + unit + " behind A's " + fairBulk + ", wait until start",
            "ms",
            behindBulk,
            Figure.BaselineKind.IDEAL),
        new Figure.Builder(
            "priority: a priority-9 " + unit + " behind the bulk, wait until start",
            "ms",
            behindBulk,
            Figure.BaselineKind.IDEAL));
  }

  /** Adds the six figures to {@code out}, in the order both suites print them. */
  void addTo(SuiteResult.Builder out) {
    out.figure(p50).figure(p99).figure(makespan).figure(busy).figure(fair).figure(prio);
  }
}
