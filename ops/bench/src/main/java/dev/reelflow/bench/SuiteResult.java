package dev.reelflow.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one suite measured: its parameters, its figures and notes (what was emulated, what was
 * skipped and why).
 */
public record SuiteResult(
    String suite,
    boolean emulated,
    Map<String, Object> parameters,
    List<Figure> figures,
    List<String> notes,
    double seconds) {

  public SuiteResult {
    parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    figures = List.copyOf(figures);
    notes = List.copyOf(notes);
  }

  /** Collects a suite's result while it runs. */
  public static final class Builder {
    private final String suite;
    private boolean emulated;
    private final Map<String, Object> parameters = new LinkedHashMap<>();
    private final List<Figure> figures = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
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

    public SuiteResult build() {
      return new SuiteResult(
          suite, emulated, parameters, figures, notes, (System.nanoTime() - started) / 1e9);
    }
  }
}
