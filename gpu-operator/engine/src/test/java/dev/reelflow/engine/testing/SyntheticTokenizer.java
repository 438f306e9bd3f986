package dev.reelflow.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small synthetic {@code tokenizer.json} in the format of Qwen2.5's (test scaffolding, published
 * in the engine's test-jar): the same normalizer (NFC), pre-tokenizer (Qwen's split pattern, then
 * byte-level), decoder and added tokens (the 22 of Qwen2.5-VL, in Qwen's order, after the
 * vocabulary), but a vocabulary of the 256 byte symbols plus a few merges instead of Qwen's 151,643
 * tokens. It is not Qwen's tokenizer: ids differ, only the structure is alike.
 */
public final class SyntheticTokenizer {
  /** Qwen's pre-tokenizer split pattern (from Qwen2.5's tokenizer.json). */
  public static final String QWEN_SPLIT =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
          + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  /** Qwen2.5-VL's added tokens, in id order. */
  public static final List<String> ADDED =
      List.of(
          "<|endoftext|>",
          "<|im_start|>",
          "<|im_end|>",
          "<|object_ref_start|>",
          "<|object_ref_end|>",
          "<|box_start|>",
          "<|box_end|>",
          "<|quad_start|>",
          "<|quad_end|>",
          "<|vision_start|>",
          "<|vision_end|>",
          "<|vision_pad|>",
          "<|image_pad|>",
          "<|video_pad|>",
          "<tool_call>",
          "</tool_call>",
          "<|fim_prefix|>",
          "<|fim_middle|>",
          "<|fim_suffix|>",
          "<|fim_pad|>",
          "<|repo_name|>",
          "<|file_sep|>");

  /**
   * Words that become single tokens (with and without a leading space): the template's, so that the
   * official crop-start search (within the first 256 tokens) finds the user marker, and a few for
   * tests. Everything else is byte tokens.
   */
  static final List<String> WORDS =
      List.of(
          "photo",
          "of",
          "cat",
          "red",
          "fox",
          "a",
          "system",
          "user",
          "assistant",
          "You",
          "are",
          "helpful",
          "Describe",
          "the",
          "video",
          "by",
          "detailing",
          "following",
          "aspects",
          "The",
          "main",
          "content",
          "and",
          "theme",
          "color",
          "shape",
          "size",
          "texture",
          "quantity",
          "text",
          "spatial",
          "relationships",
          "objects",
          "Actions",
          "events",
          "behaviors",
          "temporal",
          "physical",
          "movement",
          "changes",
          "background",
          "environment",
          "light",
          "style",
          "atmosphere",
          "camera",
          "angles",
          "movements",
          "transitions",
          "used",
          "in");

  /** Merges in rank order: space runs, 猫's bytes, each word left to right, then space + word. */
  static final List<String[]> MERGES = merges();

  private static List<String[]> merges() {
    String sp = "\u0120"; // the byte-level symbol of a space
    List<String[]> m = new ArrayList<>();
    m.add(new String[] {sp, sp});
    m.add(new String[] {sp + sp, sp + sp});
    m.add(new String[] {sp + sp + sp + sp, sp + sp + sp + sp});
    m.add(new String[] {"\u00e7", "\u012e"});
    m.add(new String[] {"\u00e7\u012e", "\u00ab"});
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (String w : WORDS) {
      String acc = w.substring(0, 1);
      for (int i = 1; i < w.length(); i++) {
        String next = String.valueOf(w.charAt(i));
        if (seen.add(acc + "|" + next)) {
          m.add(new String[] {acc, next});
        }
        acc += next;
      }
    }
    for (String w : WORDS) {
      m.add(new String[] {sp, w});
    }
    return List.copyOf(m);
  }

  /** The id of a vocabulary symbol string (byte-level symbols, e.g. {@code "\u0120cat"}). */
  public static int id(String symbols) {
    if (symbols.length() == 1) {
      String[] sym = byteSymbols();
      for (int b = 0; b < 256; b++) {
        if (sym[b].equals(symbols)) {
          return b;
        }
      }
    }
    for (int i = 0; i < MERGES.size(); i++) {
      if ((MERGES.get(i)[0] + MERGES.get(i)[1]).equals(symbols)) {
        return 256 + i;
      }
    }
    throw new IllegalArgumentException("not in the synthetic vocabulary: " + symbols);
  }

  private SyntheticTokenizer() {}

  /** Ids of the byte symbols: byte b has id {@code b} (the vocabulary starts with them). */
  public static int byteId(int b) {
    return b & 0xff;
  }

  /** Size of the vocabulary before the added tokens. */
  public static int vocabSize() {
    return 256 + MERGES.size();
  }

  /** Id of an added token, e.g. {@code <|im_start|>}. */
  public static int addedId(String token) {
    int i = ADDED.indexOf(token);
    if (i < 0) {
      throw new IllegalArgumentException("not an added token: " + token);
    }
    return vocabSize() + i;
  }

  /** Ids in use: the vocabulary and the added tokens. */
  public static int size() {
    return vocabSize() + ADDED.size();
  }

  /** GPT-2's byte-to-symbol table of byte-level BPE. */
  public static String[] byteSymbols() {
    String[] out = new String[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      out[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + n++));
    }
    return out;
  }

  /** Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}. */
  public static void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Map<String, Object> vocab = new LinkedHashMap<>();
    String[] sym = byteSymbols();
    for (int b = 0; b < 256; b++) {
      vocab.put(sym[b], (long) b);
    }
    List<Object> merges = new ArrayList<>();
    for (String[] m : MERGES) {
      vocab.put(m[0] + m[1], (long) vocab.size());
      merges.add(m[0] + " " + m[1]);
    }
    List<Object> added = new ArrayList<>();
    for (int i = 0; i < ADDED.size(); i++) {
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("id", (long) (vocabSize() + i));
      a.put("content", ADDED.get(i));
      a.put("single_word", false);
      a.put("lstrip", false);
      a.put("rstrip", false);
      a.put("normalized", false);
      a.put("special", i < 14);
      added.add(a);
    }
    Map<String, Object> byteLevel = new LinkedHashMap<>();
    byteLevel.put("type", "ByteLevel");
    byteLevel.put("add_prefix_space", false);
    byteLevel.put("trim_offsets", false);
    byteLevel.put("use_regex", false);
    Map<String, Object> split = new LinkedHashMap<>();
    split.put("type", "Split");
    split.put("pattern", Map.of("Regex", QWEN_SPLIT));
    split.put("behavior", "Isolated");
    split.put("invert", false);
    Map<String, Object> pre = new LinkedHashMap<>();
    pre.put("type", "Sequence");
    pre.put("pretokenizers", List.of(split, byteLevel));
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("type", "BPE");
    model.put("dropout", null);
    model.put("unk_token", null);
    model.put("continuing_subword_prefix", "");
    model.put("end_of_word_suffix", "");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    model.put("vocab", vocab);
    model.put("merges", merges);
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("version", "1.0");
    t.put("truncation", null);
    t.put("padding", null);
    t.put("added_tokens", added);
    t.put("normalizer", Map.of("type", "NFC"));
    t.put("pre_tokenizer", pre);
    t.put("post_processor", byteLevel);
    t.put("decoder", byteLevel);
    t.put("model", model);
    SyntheticModelFolder.writeJson(dir.resolve("tokenizer.json"), t);
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("tokenizer_class", "Qwen2Tokenizer");
    cfg.put("pad_token", "<|endoftext|>");
    cfg.put("eos_token", "<|im_end|>");
    cfg.put("model_max_length", 131072L);
    SyntheticModelFolder.writeJson(dir.resolve("tokenizer_config.json"), cfg);
    Files.writeString(
        dir.resolve("SYNTHETIC_TOKENIZER.txt"),
        "synthetic test tokenizer: Qwen2.5's format and added tokens, a small vocabulary\n",
        StandardCharsets.UTF_8);
  }
}
