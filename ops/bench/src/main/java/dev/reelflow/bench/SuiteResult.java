package dev.reelflow.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one suite measured: its parameters, its figures and notes (what was emulated, what was
 * skipped and why), and for a suite that runs at several sizes, how its figures grow with the size.
 */
public record SuiteResult(
    String suite,
    boolean emulated,
    Map<String, Object> parameters,
    List<Figure> figures,
    List<String> notes,
    Growth growth,
    double seconds) {

  public SuiteResult {
    parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    figures = List.copyOf(figures);
    notes = List.copyOf(notes);
  }

  /**
   * Medians of figures at each size of a suite that runs several (the scale suite's queued
   * renders): {@code lines} maps a figure (its name without the size) to size → median value, in
   * the order the figures were added. Empty when the suite ran at one size or none.
   */
  public record Growth(
      String sizeLabel, Map<String, String> units, Map<String, Map<Double, Double>> lines) {

    public Growth {
      Map<String, Map<Double, Double>> copy = new LinkedHashMap<>();
      lines.forEach((k, v) -> copy.put(k, java.util.Collections.unmodifiableMap(new TreeMap<>(v))));
      lines = java.util.Collections.unmodifiableMap(copy);
      units = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(units));
    }

    /** The sizes measured, smallest first. */
    public List<Double> sizes() {
      TreeMap<Double, Boolean> all = new TreeMap<>();
      lines.values().forEach(l -> l.keySet().forEach(x -> all.put(x, true)));
      return List.copyOf(all.keySet());
    }
  }

  /** Collects a suite's result while it runs. */
  public static final class Builder {
    private final String suite;
    private boolean emulated;
    private final Map<String, Object> parameters = new LinkedHashMap<>();
    private final List<Figure> figures = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private String sizeLabel = "size";
    private final Map<String, String> units = new LinkedHashMap<>();
    private final Map<String, Map<Double, Double>> growth = new LinkedHashMap<>();
    private final long started = System.nanoTime();

    public Builder(String suite) {
      this.suite = suite;
    }

    public Builder emulated(boolean emulated) {
      this.emulated = emulated;
      return this;
    }

    public Builder parameter(String key, Object value) {
      parameters.put(key, value);
      return this;
    }

    public Builder figure(Figure figure) {
      figures.add(figure);
      return this;
    }

    /** Adds the figure when it has at least one repetition. */
    public Builder figure(Figure.Builder figure) {
      if (!figure.isEmpty()) {
        figures.add(figure.build());
      }
      return this;
    }

    public Builder note(String note) {
      notes.add(note);
      return this;
    }

    /** Names what the growth chart's sizes count (e.g. "queued renders"). */
    public Builder sizeLabel(String label) {
      this.sizeLabel = label;
      return this;
    }

    /**
     * Adds a figure and records its median as the value of {@code family} at {@code size}, for the
     * growth table and chart.
     */
    public Builder figureAtSize(Figure.Builder figure, String family, double size) {
      if (!figure.isEmpty()) {
        Figure f = figure.build();
        figures.add(f);
        units.putIfAbsent(family, f.unit());
        growth
            .computeIfAbsent(family, k -> new TreeMap<>())
            .put(size, Spread.of(f.values()).median());
      }
      return this;
    }

    public SuiteResult build() {
      Growth g = new Growth(sizeLabel, units, growth);
      return new SuiteResult(
          suite,
          emulated,
          parameters,
          figures,
          notes,
          g.sizes().size() > 1 ? g : null,
          (System.nanoTime() - started) / 1e9);
    }
  }
}
