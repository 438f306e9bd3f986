package dev.reelflow.engine.checkpoint;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.sampler.SamplerDefaults;
import dev.reelflow.engine.weights.WeightCheck;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@link ModelCheck} found in a checkpoint folder: every transformer variant and component
 * with its tensor check, fingerprint and memory estimate, what is absent, and every problem.
 *
 * @param dir the checkpoint folder
 * @param variants one report per {@code transformer/} folder
 * @param components vae, upsamplers, scheduler, encoders (present or not)
 * @param notes informational lines (absent optional parts, what was not checked and why)
 * @param problems what makes the folder unusable as it is; empty when {@link #ok()}
 * @param seconds how long the check took
 */
@EngineApi
public record ModelCheckReport(
    Path dir,
    List<VariantReport> variants,
    List<ComponentReport> components,
    List<String> notes,
    List<String> problems,
    double seconds) {

  public ModelCheckReport {
    variants = List.copyOf(variants);
    components = List.copyOf(components);
    notes = List.copyOf(notes);
    problems = List.copyOf(problems);
  }

  /** True when nothing is missing, mis-shaped, unreadable or unexpected. */
  public boolean ok() {
    return problems.isEmpty();
  }

  /**
   * Memory of one stage on the engine's backends, weights plus (for transformers) the activations
   * of one block at the variant's own resolution, 121 frames.
   *
   * @param storedByDtype bytes of the weights as stored, by safetensors dtype
   * @param cpuBytes resident weights on the CPU backend: F32, except 16-bit linear weights, which
   *     it keeps 16-bit ({@code keepHalfWeights}, the default)
   * @param cpuF32Bytes resident weights on the CPU backend with every weight widened to F32
   * @param deviceBytes resident weights on a backend that keeps the stored dtypes (a GPU backend
   *     holding bf16 as bf16)
   * @param activationBytes one block's activations at the variant's resolution (0: not estimated)
   * @param activationBasis how the activations were estimated
   */
  public record Memory(
      Map<String, Long> storedByDtype,
      long cpuBytes,
      long cpuF32Bytes,
      long deviceBytes,
      long activationBytes,
      String activationBasis) {}

  /**
   * One transformer variant.
   *
   * @param name folder name
   * @param fingerprint see {@link WeightFiles#fingerprint()} (null if unreadable)
   * @param config the config summary (null if unreadable)
   * @param sampler the official sampler settings (null for unofficial names)
   * @param check the tensor check (null if the config or files could not be read)
   * @param memory memory estimate (null without a check)
   * @param problems everything wrong with this variant
   */
  public record VariantReport(
      String name,
      String fingerprint,
      Map<String, Object> config,
      SamplerDefaults sampler,
      WeightCheck check,
      Memory memory,
      List<String> problems) {
    public VariantReport {
      problems = List.copyOf(problems);
    }
  }

  /**
   * One non-transformer component.
   *
   * @param name path relative to the folder, e.g. {@code vae}
   * @param present whether the folder exists
   * @param checked whether its tensors were checked against what the engine expects
   * @param check the tensor check, or null
   * @param memory weights memory, or null
   * @param fileBytes bytes of every file under the folder
   * @param problems everything wrong with it
   */
  public record ComponentReport(
      String name,
      boolean present,
      boolean checked,
      WeightCheck check,
      Memory memory,
      long fileBytes,
      List<String> problems) {
    public ComponentReport {
      problems = List.copyOf(problems);
    }
  }

  private static String gib(long bytes) {
    return String.format("%.2f GiB", bytes / (double) (1L << 30));
  }

  private static String size(long bytes) {
    if (bytes >= 1L << 30) {
      return gib(bytes);
    }
    if (bytes >= 1L << 20) {
      return String.format("%.1f MiB", bytes / (double) (1L << 20));
    }
    return String.format("%.1f KiB", bytes / 1024.0);
  }

  private static void memory(List<String> out, Memory m) {
    StringBuilder stored = new StringBuilder();
    m.storedByDtype()
        .forEach(
            (k, v) ->
                stored
                    .append(stored.length() == 0 ? "" : ", ")
                    .append(k)
                    .append(' ')
                    .append(size(v)));
    out.add("    weights stored: " + (stored.length() == 0 ? "none" : stored));
    out.add(
        "    memory: cpu "
            + size(m.cpuBytes())
            + (m.cpuBytes() == m.cpuF32Bytes()
                ? " (f32)"
                : " (16-bit linear weights kept; " + size(m.cpuF32Bytes()) + " all f32)")
            + ", gpu "
            + size(m.deviceBytes())
            + " (stored dtypes)"
            + (m.activationBytes() > 0
                ? " + activations " + size(m.activationBytes()) + " (" + m.activationBasis() + ")"
                : ""));
  }

  /** A human-readable report, one line per fact. */
  public String render() {
    List<String> out = new ArrayList<>();
    out.add("checkpoint folder " + dir);
    out.add("transformer variants: " + variants.size());
    for (VariantReport v : variants) {
      out.add(
          "  "
              + v.name()
              + (v.problems().isEmpty() ? "  OK" : "  " + v.problems().size() + " problem(s)"));
      if (v.config() != null) {
        out.add(
            "    config: "
                + v.config().get("double_blocks")
                + "+"
                + v.config().get("single_blocks")
                + " blocks, hidden "
                + v.config().get("hidden")
                + ", in/out channels "
                + v.config().get("in_channels")
                + "/"
                + v.config().get("out_channels")
                + ", patch "
                + v.config().get("patch")
                + ", attention "
                + v.config().get("attention")
                + (Boolean.TRUE.equals(v.config().get("mean_flow")) ? ", mean-flow" : "")
                + (Boolean.TRUE.equals(v.config().get("guidance_embed"))
                    ? ", guidance-embed"
                    : ""));
      }
      if (v.sampler() != null) {
        out.add(
            "    sampler: "
                + v.sampler().steps()
                + " steps, shift "
                + v.sampler().shift()
                + ", guidance "
                + v.sampler().guidance());
      }
      if (v.check() != null) {
        out.add(
            "    tensors: "
                + v.check().consumed().size()
                + " used"
                + (v.check().ignored().isEmpty()
                    ? ""
                    : ", " + v.check().ignored().size() + " ignored on purpose"));
      }
      if (v.fingerprint() != null) {
        out.add("    fingerprint: " + v.fingerprint());
      }
      if (v.memory() != null) {
        memory(out, v.memory());
      }
      limited(out, v.problems());
    }
    out.add("components:");
    for (ComponentReport c : components) {
      String state =
          !c.present()
              ? "absent"
              : (c.problems().isEmpty() ? "OK" : c.problems().size() + " problem(s)")
                  + (c.checked() ? "" : " (tensors not checked)");
      out.add("  " + c.name() + "  " + state + (c.present() ? ", " + size(c.fileBytes()) : ""));
      if (c.memory() != null) {
        memory(out, c.memory());
      }
      limited(out, c.problems());
    }
    for (String n : notes) {
      out.add("note: " + n);
    }
    // folder-level problems (those not already listed under a variant or component)
    java.util.Set<String> listed = new java.util.HashSet<>();
    variants.forEach(
        v -> v.problems().forEach(p -> listed.add("transformer/" + v.name() + ": " + p)));
    components.forEach(c -> c.problems().forEach(p -> listed.add(c.name() + ": " + p)));
    for (String p : problems) {
      if (!listed.contains(p)) {
        out.add("problem: " + p);
      }
    }
    out.add(
        (ok() ? "OK" : "FAILED: " + problems.size() + " problem(s)")
            + String.format(" (checked in %.2f s, no tensor data read)", seconds));
    return String.join(System.lineSeparator(), out);
  }

  private static void limited(List<String> out, List<String> problems) {
    int shown = Math.min(problems.size(), 50);
    for (int i = 0; i < shown; i++) {
      out.add("    - " + problems.get(i));
    }
    if (problems.size() > shown) {
      out.add("    - ... and " + (problems.size() - shown) + " more");
    }
  }
}
