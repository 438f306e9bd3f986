package dev.reelflow.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The spread of a figure's repetitions: min, median, max, mean and (sample) standard deviation. NaN
 * repetitions (a ratio against a zero baseline) are left out.
 */
public record Spread(int n, double min, double median, double max, double mean, double stddev) {

  public static Spread of(List<Double> samples) {
    List<Double> s = new ArrayList<>();
    for (Double d : samples) {
      if (d != null && !d.isNaN()) {
        s.add(d);
      }
    }
    if (s.isEmpty()) {
      return new Spread(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    Collections.sort(s);
    int n = s.size();
    double median = n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    double mean = s.stream().mapToDouble(Double::doubleValue).sum() / n;
    double var = 0;
    for (double d : s) {
      var += (d - mean) * (d - mean);
    }
    double stddev = n > 1 ? Math.sqrt(var / (n - 1)) : 0;
    return new Spread(n, s.get(0), median, s.get(n - 1), mean, stddev);
  }

  /** Nearest-rank percentile of sorted samples; 0 for none. */
  public static double percentile(List<? extends Number> sorted, double q) {
    if (sorted.isEmpty()) {
      return 0;
    }
    int index = (int) Math.ceil(q * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index))).doubleValue();
  }
}
