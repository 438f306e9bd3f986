package dev.reelflow.orchestrator;

import dev.reelflow.schemas.avro.RenderParams;
import dev.reelflow.schemas.avro.Stage;
import dev.reelflow.schemas.avro.UpscaleTarget;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.java.tuple.Tuple2;

/**
 * How long a stage is expected to take, for deciding that a queued render can no longer meet its
 * deadline. Per stage and resolution: an exponentially weighted mean of the durations observed
 * (STARTED to COMPLETED), or the configured prior until one is observed; zero means unknown. A
 * subtask learns from the renders it owns; the estimates are checkpointed as union state, so every
 * subtask starts from the mean of all after a restore or rescale.
 */
final class StageDurations {
  /** Weight of the newest observation: recent load and worker types count most. */
  static final double ALPHA = 0.3;

  private final long priorBaseMillis;
  private final long priorUpscaleMillis;
  private final Map<String, Double> observed = new HashMap<>();

  StageDurations(long priorBaseMillis, long priorUpscaleMillis) {
    this.priorBaseMillis = priorBaseMillis;
    this.priorUpscaleMillis = priorUpscaleMillis;
  }

  /** Expected duration of {@code stage} for these params; 0 when unknown. */
  long expected(Stage stage, RenderParams params) {
    Double v = observed.get(key(stage, params));
    if (v != null) {
      return Math.round(v);
    }
    return stage == Stage.BASE ? priorBaseMillis : priorUpscaleMillis;
  }

  /** Work left for a render queued at {@code stage}: this stage and, after a base, the upscale. */
  long remaining(Stage stage, RenderParams params) {
    long left = expected(stage, params);
    if (stage == Stage.BASE && params.getUpscale() != UpscaleTarget.NONE) {
      left += expected(Stage.UPSCALE, params);
    }
    return left;
  }

  void observe(Stage stage, RenderParams params, long millis) {
    if (millis <= 0) {
      return;
    }
    observed.merge(key(stage, params), (double) millis, (old, v) -> old + ALPHA * (v - old));
  }

  List<Tuple2<String, Double>> snapshot() {
    return observed.entrySet().stream().map(e -> Tuple2.of(e.getKey(), e.getValue())).toList();
  }

  /** Restores from union state: entries of the same key (from several subtasks) are averaged. */
  void restore(Iterable<Tuple2<String, Double>> entries) {
    Map<String, double[]> sums = new HashMap<>();
    for (Tuple2<String, Double> e : entries) {
      double[] s = sums.computeIfAbsent(e.f0, k -> new double[2]);
      s[0] += e.f1;
      s[1]++;
    }
    observed.clear();
    sums.forEach((k, s) -> observed.put(k, s[0] / s[1]));
  }

  private static String key(Stage stage, RenderParams params) {
    return stage.name() + ":" + params.getResolution().name();
  }
}
