package dev.reelflow.engine.weights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How the tensors of a checkpoint match what a model expects, from the safetensors headers alone
 * (no tensor data is read). Every tensor of the checkpoint is either {@link #consumed() consumed}
 * by a declared parameter, {@link #ignored() ignored} by a rule with a stated reason, or {@link
 * #unexpected() unexpected}; every declared parameter is consumed or {@link #missing() missing}.
 *
 * @param source the checkpoint files, for messages
 * @param consumed the tensors the model takes, with their stored dtype and file
 * @param ignored tensor name to the reason it is ignored on purpose
 * @param missing declared parameters the checkpoint lacks
 * @param misshaped "name: expected [..] got [..]"
 * @param wrongDtype "name: stored as X; the engine reads F32, F16 or BF16"
 * @param unexpected tensors neither declared nor ignored
 * @param duplicated "name: in a.safetensors and b.safetensors"
 */
public record WeightCheck(
    String source,
    List<Use> consumed,
    Map<String, String> ignored,
    List<String> missing,
    List<String> misshaped,
    List<String> wrongDtype,
    List<String> unexpected,
    List<String> duplicated) {

  /** Safetensors dtypes the engine reads. */
  public static final List<String> READABLE_DTYPES = List.of("F32", "F16", "BF16");

  /**
   * A declared parameter found in the checkpoint.
   *
   * @param spec the parameter
   * @param dtype its stored safetensors dtype
   * @param file the file that holds it
   */
  public record Use(ParamSpec spec, String dtype, Path file) {
    /** Bytes of the tensor as stored. */
    public long storedBytes() {
      return spec.size() * bytesPer(dtype);
    }

    /**
     * Bytes once loaded on a backend that widens everything to F32 except 16-bit linear weights,
     * which it keeps 16-bit when {@code keepHalf} (the CPU backend's rule, {@link
     * WeightSet.Loader#keepHalf}).
     */
    public long residentBytes(boolean keepHalf) {
      boolean half = !dtype.equals("F32") && keepHalf && spec.halfStorage();
      return spec.size() * (half ? 2 : 4);
    }
  }

  public WeightCheck {
    consumed = List.copyOf(consumed);
    ignored = Map.copyOf(ignored);
    missing = List.copyOf(missing);
    misshaped = List.copyOf(misshaped);
    wrongDtype = List.copyOf(wrongDtype);
    unexpected = List.copyOf(unexpected);
    duplicated = List.copyOf(duplicated);
  }

  static int bytesPer(String dtype) {
    return switch (dtype) {
      case "F64", "I64", "U64" -> 8;
      case "F32", "I32", "U32" -> 4;
      case "F16", "BF16", "I16", "U16" -> 2;
      default -> 1;
    };
  }

  /** True when the checkpoint can be loaded: nothing missing, mis-shaped, unreadable or unknown. */
  public boolean ok() {
    return missing.isEmpty()
        && misshaped.isEmpty()
        && wrongDtype.isEmpty()
        && unexpected.isEmpty()
        && duplicated.isEmpty();
  }

  /** Every problem as one line each, grouped by kind. */
  public List<String> problems() {
    List<String> out = new ArrayList<>();
    missing.forEach(n -> out.add("missing tensor " + n));
    misshaped.forEach(n -> out.add("mis-shaped tensor " + n));
    wrongDtype.forEach(n -> out.add("wrong dtype " + n));
    unexpected.forEach(n -> out.add("unexpected tensor " + n));
    duplicated.forEach(n -> out.add("duplicated tensor " + n));
    return out;
  }

  /** Stored bytes of the consumed tensors by dtype (e.g. {@code BF16 -> 16.6e9}). */
  public Map<String, Long> storedBytesByDtype() {
    Map<String, Long> m = new TreeMap<>();
    for (Use u : consumed) {
      m.merge(u.dtype(), u.storedBytes(), Long::sum);
    }
    return m;
  }

  /** Resident bytes on the CPU backend (see {@link Use#residentBytes}). */
  public long residentBytes(boolean keepHalf) {
    long n = 0;
    for (Use u : consumed) {
      n += u.residentBytes(keepHalf);
    }
    return n;
  }

  /** Bytes of the consumed tensors as stored (a backend that keeps the stored dtypes). */
  public long storedBytes() {
    long n = 0;
    for (Use u : consumed) {
      n += u.storedBytes();
    }
    return n;
  }

  /** Throws the {@link WeightLoadException} that lists every problem, if there is one. */
  public void throwIfBad() {
    if (!ok()) {
      throw new WeightLoadException(this);
    }
  }
}
