package dev.reelflow.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.StatisticalBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.statistics.DefaultStatisticalCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The files of one run, all under one folder: {@code results.json} (machine, versions, command,
 * every suite's parameters and every repetition), {@code summary.md} (a table per suite) and {@code
 * <suite>.png} (each figure's median ratio to its baseline, with the min-max spread); a suite run
 * at several sizes also gets its growth table and {@code <suite>-growth.png} (each figure against
 * the size, log-log, next to proportional growth).
 */
public final class BenchReport {
  /** The JSON format's version; bump it when a field changes meaning. */
  public static final int FORMAT = 1;

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path dir;
  private final String command;
  private final Machine machine;
  private final Instant started;
  private final BenchSize size;
  private final int repetitions;

  public BenchReport(
      Path dir, String command, Machine machine, Instant started, BenchSize size, int repetitions) {
    this.dir = dir;
    this.command = command;
    this.machine = machine;
    this.started = started;
    this.size = size;
    this.repetitions = repetitions;
  }

  /** Writes results.json, summary.md and one PNG per suite; returns the files written. */
  public List<Path> write(List<SuiteResult> results) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Files.createDirectories(dir);
    List<Path> files = new ArrayList<>();
    Path json = dir.resolve("results.json");
    JSON.writeValue(json.toFile(), toJson(results));
    files.add(json);
    Path md = dir.resolve("summary.md");
    Files.writeString(md, markdown(results), StandardCharsets.UTF_8);
    files.add(md);
    for (SuiteResult r : results) {
      if (!r.figures().isEmpty()) {
        Path png = dir.resolve(r.suite() + ".png");
        chart(r, png);
        files.add(png);
      }
      if (r.growth() != null) {
        Path png = dir.resolve(r.suite() + "-growth.png");
        growthChart(r, png);
        files.add(png);
      }
    }
    return files;
  }

  ObjectNode toJson(List<SuiteResult> results) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("command", command);
    root.put("startedAt", started.toString());
    root.put("size", size.name().toLowerCase(Locale.ROOT));
    root.put("repetitions", repetitions);
    root.set("machine", JSON.valueToTree(machine));
    ArrayNode suites = root.putArray("suites");
    for (SuiteResult r : results) {
      ObjectNode s = suites.addObject();
      s.put("suite", r.suite());
      s.put("emulated", r.emulated());
      s.put("seconds", r.seconds());
      s.set("parameters", JSON.valueToTree(r.parameters()));
      ArrayNode figures = s.putArray("figures");
      for (Figure f : r.figures()) {
        ObjectNode o = figures.addObject();
        o.put("name", f.name());
        o.put("unit", f.unit());
        o.put("baseline", f.baseline());
        o.put("baselineKind", f.kind().name().toLowerCase(Locale.ROOT));
        ArrayNode reps = o.putArray("repetitions");
        List<Double> ratios = f.ratios();
        for (int i = 0; i < f.values().size(); i++) {
          ObjectNode rep = reps.addObject();
          rep.put("value", f.values().get(i));
          rep.put("baseline", f.baselines().get(i));
          rep.put("ratio", ratios.get(i));
        }
        o.set("value", JSON.valueToTree(Spread.of(f.values())));
        o.set("baselineValue", JSON.valueToTree(Spread.of(f.baselines())));
        o.set("ratio", JSON.valueToTree(Spread.of(ratios)));
      }
      s.set("notes", JSON.valueToTree(r.notes()));
      if (r.growth() != null) {
        ObjectNode g = s.putObject("growth");
        g.put("sizeLabel", r.growth().sizeLabel());
        ObjectNode lines = g.putObject("medians");
        r.growth()
            .lines()
            .forEach(
                (name, line) -> {
                  ObjectNode l = lines.putObject(name);
                  l.put("unit", r.growth().units().get(name));
                  ObjectNode at = l.putObject("bySize");
                  line.forEach((x, y) -> at.put(num(x), y));
                });
      }
    }
    return root;
  }

  String markdown(List<SuiteResult> results) {
    StringBuilder md = new StringBuilder();
    md.append("# reelflow bench results\n\n");
    md.append("- command: `").append(command).append("`\n");
    md.append("- started: ").append(started).append('\n');
    md.append(
        String.format(
            Locale.ROOT,
            "- machine: %d cores, %.1f GiB memory, %s %s, Java %s (%s); max heap %.1f GiB%n",
            machine.cores(),
            machine.physicalMemoryBytes() / (double) (1L << 30),
            machine.os(),
            machine.arch(),
            machine.java(),
            machine.javaVendor(),
            machine.maxHeapBytes() / (double) (1L << 30)));
    md.append("- versions: ");
    md.append(
        String.join(
            ", ", machine.versions().entrySet().stream().map(Map.Entry::toString).toList()));
    md.append('\n');
    md.append("- size ")
        .append(size.name().toLowerCase(Locale.ROOT))
        .append(", ")
        .append(repetitions)
        .append(" repetition(s); value and ratio are median (min-max) over repetitions\n");
    for (SuiteResult r : results) {
      md.append("\n## ").append(r.suite());
      if (r.emulated()) {
        md.append(" (EMULATED workers/engine: measures the pipeline, not a model)");
      }
      md.append("\n\n");
      md.append(
          String.format(Locale.ROOT, "%.1f s; parameters: %s%n%n", r.seconds(), r.parameters()));
      md.append("| figure | value | baseline | ratio | n |\n|---|---|---|---|---|\n");
      for (Figure f : r.figures()) {
        Spread v = Spread.of(f.values());
        Spread b = Spread.of(f.baselines());
        Spread q = Spread.of(f.ratios());
        md.append(
            String.format(
                Locale.ROOT,
                "| %s | %s %s | %s: %s %s (%s) | %s | %d |%n",
                f.name(),
                range(v),
                f.unit(),
                f.baseline(),
                num(b.median()),
                f.unit(),
                f.kind().name().toLowerCase(Locale.ROOT),
                range(q),
                v.n()));
      }
      if (r.growth() != null) {
        growthTable(r.growth(), md);
      }
      for (String note : r.notes()) {
        md.append("\n- ").append(note);
      }
      md.append('\n');
    }
    return md.toString();
  }

  /** Medians by size, and each one's growth from the smallest size to the largest. */
  private static void growthTable(SuiteResult.Growth g, StringBuilder md) {
    List<Double> sizes = g.sizes();
    double first = sizes.get(0);
    double last = sizes.get(sizes.size() - 1);
    md.append("\nGrowth with ").append(g.sizeLabel()).append(" (medians):\n\n| figure |");
    sizes.forEach(x -> md.append(' ').append(num(x)).append(" |"));
    md.append(" growth ").append(num(first)).append(" → ").append(num(last));
    md.append(" (the size grew ").append(num(last / first)).append("x) |\n|---|");
    sizes.forEach(x -> md.append("---|"));
    md.append("---|\n");
    g.lines()
        .forEach(
            (name, line) -> {
              md.append("| ").append(name).append(" (").append(g.units().get(name)).append(") |");
              sizes.forEach(
                  x ->
                      md.append(' ')
                          .append(line.containsKey(x) ? num(line.get(x)) : "-")
                          .append(" |"));
              Double a = line.get(first);
              Double b = line.get(last);
              md.append(' ')
                  .append(a == null || b == null || a == 0 ? "n/a" : num(b / a) + "x")
                  .append(" |\n");
            });
  }

  private static String range(Spread s) {
    if (s.n() <= 1) {
      return num(s.median());
    }
    return num(s.median()) + " (" + num(s.min()) + "-" + num(s.max()) + ")";
  }

  private static String num(double d) {
    if (Double.isNaN(d)) {
      return "n/a";
    }
    double a = Math.abs(d);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%.0f", d);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.2f", d);
    }
    return String.format(Locale.ROOT, "%.3g", d);
  }

  private void chart(SuiteResult r, Path png) throws IOException {
    DefaultStatisticalCategoryDataset data = new DefaultStatisticalCategoryDataset();
    int number = 0;
    for (Figure f : r.figures()) {
      number++;
      Spread q = Spread.of(f.ratios());
      if (q.n() > 0) {
        // numbered in the suite's order (the summary's rows): two names alike in their first 45
        // characters would otherwise share one bar
        data.add(q.median(), q.stddev(), "ratio to baseline", number + ". " + shorten(f.name()));
      }
    }
    CategoryAxis x = new CategoryAxis();
    x.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
    NumberAxis y = new NumberAxis("value / baseline (median, error bar: stddev)");
    StatisticalBarRenderer bars = new StatisticalBarRenderer();
    bars.setSeriesPaint(0, new Color(0x2b6cb0));
    bars.setErrorIndicatorPaint(Color.BLACK);
    CategoryPlot plot = new CategoryPlot(data, x, y, bars);
    plot.setOrientation(PlotOrientation.VERTICAL);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    // ratio 1: the figure equals its baseline
    ValueMarker parity = new ValueMarker(1.0, Color.RED, new BasicStroke(1.5f));
    parity.setLabel("baseline");
    plot.addRangeMarker(parity);
    String title =
        "reelflow bench "
            + r.suite()
            + (r.emulated() ? " (EMULATED)" : "")
            + ", "
            + started.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, false);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(png.toFile(), chart, 1000, 620);
  }

  /**
   * Each growth line on log-log axes, divided by its value at the smallest size, with the line of
   * proportional growth: a line parallel to it grows linearly with the size, a flat one not at all.
   */
  private void growthChart(SuiteResult r, Path png) throws IOException {
    SuiteResult.Growth g = r.growth();
    List<Double> sizes = g.sizes();
    double first = sizes.get(0);
    XYSeriesCollection data = new XYSeriesCollection();
    XYSeries linear = new XYSeries("proportional to the " + g.sizeLabel());
    sizes.forEach(x -> linear.add(x.doubleValue(), x / first));
    data.addSeries(linear);
    g.lines()
        .forEach(
            (name, line) -> {
              Double base = line.get(first);
              if (base == null || base <= 0) {
                return;
              }
              XYSeries s = new XYSeries(name);
              line.forEach(
                  (x, y) -> {
                    if (y > 0) {
                      s.add(x.doubleValue(), y / base);
                    }
                  });
              data.addSeries(s);
            });
    LogAxis x = new LogAxis(g.sizeLabel() + " (log)");
    LogAxis y = new LogAxis("value / value at " + num(first) + " (log)");
    for (LogAxis axis : List.of(x, y)) {
      axis.setBase(10);
      // ticks at powers of ten, written as plain numbers
      axis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
      axis.setNumberFormatOverride(new DecimalFormat("#,##0.###"));
    }
    XYLineAndShapeRenderer lines = new XYLineAndShapeRenderer(true, true);
    lines.setSeriesPaint(0, Color.GRAY);
    lines.setSeriesStroke(
        0,
        new BasicStroke(
            1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {6f, 4f}, 0f));
    XYPlot plot = new XYPlot(data, x, y, lines);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    String title =
        "reelflow bench "
            + r.suite()
            + (r.emulated() ? " (EMULATED)" : "")
            + ": growth with "
            + g.sizeLabel()
            + ", "
            + started.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(png.toFile(), chart, 1000, 620);
  }

  private static String shorten(String name) {
    return name.length() <= 48 ? name : name.substring(0, 45) + "...";
  }
}
