package dev.reelflow.engine.sampler;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A {@code FlowMatchDiscreteScheduler} configuration, e.g. a checkpoint's {@code
 * scheduler/scheduler_config.json}. Note that the official pipeline does not sample with that file:
 * it builds {@link #official(double) FlowMatchDiscreteScheduler(shift, reverse=True,
 * solver="euler")} per call with the variant's shift ({@link SamplerDefaults}); the folder's file
 * is read and checked so that a checkpoint asking for something else is reported.
 *
 * @param numTrainTimesteps timestep scale (1000): the model sees {@code sigma * numTrainTimesteps}
 * @param shift flow shift
 * @param reverse sigmas run from 1 to 0 (true) or are mirrored
 * @param solver the step rule; only {@code euler} exists upstream
 * @param useFluxShift resolution-dependent (flux) shift instead of a fixed one
 */
public record SchedulerConfig(
    int numTrainTimesteps, double shift, boolean reverse, String solver, boolean useFluxShift) {

  private static final Set<String> KEYS =
      Set.of(
          "num_train_timesteps",
          "shift",
          "reverse",
          "solver",
          "use_flux_shift",
          "flux_base_shift",
          "flux_max_shift",
          "n_tokens",
          "flux_base_token",
          "flux_max_token",
          "flux_shift_factor");

  public SchedulerConfig {
    if (numTrainTimesteps < 1 || shift <= 0) {
      throw new IllegalArgumentException("num_train_timesteps must be >= 1 and shift > 0");
    }
    if (!"euler".equals(solver)) {
      throw new IllegalArgumentException(
          "scheduler solver '" + solver + "' is not supported (upstream knows only euler)");
    }
  }

  /** The scheduler the official pipeline builds for a variant's shift. */
  public static SchedulerConfig official(double shift) {
    return new SchedulerConfig(1000, shift, true, "euler", false);
  }

  /**
   * Reads a scheduler config with the official constructor's defaults for absent keys (1000
   * timesteps, shift 1, reverse, euler, no flux shift); keys starting with {@code _} are metadata,
   * any other unknown key is an error naming it.
   */
  public static SchedulerConfig fromJson(Map<String, Object> json) {
    Set<String> unknown = new TreeSet<>();
    for (String k : json.keySet()) {
      if (!KEYS.contains(k) && !k.startsWith("_")) {
        unknown.add(k);
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("scheduler config has unknown keys " + unknown);
    }
    Object n = json.getOrDefault("num_train_timesteps", 1000L);
    Object s = json.getOrDefault("shift", 1.0);
    Object r = json.getOrDefault("reverse", true);
    Object solver = json.getOrDefault("solver", "euler");
    Object flux = json.getOrDefault("use_flux_shift", false);
    if (!(n instanceof Number) || !(s instanceof Number)) {
      throw new IllegalArgumentException("scheduler num_train_timesteps and shift must be numbers");
    }
    if (!(r instanceof Boolean) || !(flux instanceof Boolean) || !(solver instanceof String)) {
      throw new IllegalArgumentException(
          "scheduler reverse/use_flux_shift must be booleans and solver a string");
    }
    return new SchedulerConfig(
        ((Number) n).intValue(),
        ((Number) s).doubleValue(),
        (Boolean) r,
        (String) solver,
        (Boolean) flux);
  }

  /**
   * The steps + 1 sigmas of {@code set_timesteps}: linspace(1, 0), the SD3 shift, mirrored unless
   * {@code reverse}. The flux shift needs the token count and is not supported.
   */
  public float[] sigmas(int steps) {
    if (useFluxShift) {
      throw new UnsupportedOperationException(
          "use_flux_shift is not supported (the official pipeline never enables it)");
    }
    float[] s = FlowMatchSchedule.sigmas(steps, shift);
    if (!reverse) {
      for (int i = 0; i < s.length; i++) {
        s[i] = 1f - s[i];
      }
    }
    return s;
  }

  /** Model timesteps {@code sigma[i] * numTrainTimesteps} for i in [0, steps). */
  public float[] timesteps(float[] sigmas) {
    float[] t = new float[sigmas.length - 1];
    for (int i = 0; i < t.length; i++) {
      t[i] = sigmas[i] * numTrainTimesteps;
    }
    return t;
  }
}
