package dev.reelflow.engine.text;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ByT5's byte-level tokenization as the official glyph path calls it ({@code padding="max_length",
 * max_length=256, truncation=True, add_special_tokens=True}): UTF-8 bytes as ids {@code byte + 3},
 * at most {@code maxLength - 1} of them, then {@code </s>} (1), then padding (0) to {@code
 * maxLength}; the mask is 1 for the bytes and {@code </s>}.
 *
 * <p>Literal special tokens in the text are single ids, as the tokenizer's added tokens: {@code
 * <pad>} 0, {@code </s>} 1, {@code <unk>} 2, {@code <extra_id_N>} 259 + N (N < 125), and the colour
 * and font tokens the official loader adds from Glyph-SDXL-v2's assets ({@code <color-i>} for each
 * colour, then {@code <xx-font-j>} for each font, ids from 384 on, in the assets' order). Each such
 * token starts with {@code <} and ends at the first {@code >}, so a left-to-right scan finds them
 * as the tokenizer's trie does.
 */
public final class GlyphTokenizer {
  /** ByT5's vocabulary before added tokens: 3 specials, 256 bytes, 125 sentinels. */
  public static final int BASE_VOCAB = 384;

  /** The official {@code byt5_max_length}. */
  public static final int MAX_LENGTH = 256;

  private final Map<String, Integer> special;
  private final int vocab;
  private final int maxLength;

  /**
   * @param colours the colour names of {@code assets/color_idx.json}, in file order
   * @param fonts the font codes of {@code assets/multilingual_10-lang_idx.json} with their indices,
   *     in file order
   * @param maxLength tokens per sequence (256)
   */
  public GlyphTokenizer(List<String> colours, Map<String, Integer> fonts, int maxLength) {
    if (maxLength < 1) {
      throw new IllegalArgumentException("maxLength must be >= 1");
    }
    this.maxLength = maxLength;
    Map<String, Integer> m = new LinkedHashMap<>();
    m.put("<pad>", 0);
    m.put("</s>", 1);
    m.put("<unk>", 2);
    for (int i = 0; i < 125; i++) {
      m.put("<extra_id_" + i + ">", 259 + i);
    }
    int next = BASE_VOCAB;
    List<String> added = new ArrayList<>();
    for (int i = 0; i < colours.size(); i++) {
      added.add("<color-" + i + ">");
    }
    fonts.forEach(
        (code, idx) ->
            added.add("<" + code.substring(0, Math.min(2, code.length())) + "-font-" + idx + ">"));
    for (String t : added) {
      if (!m.containsKey(t)) {
        m.put(t, next++);
      }
    }
    this.special = m;
    this.vocab = next;
  }

  /** Rows of the embedding the official loader resizes to: 384 plus the added tokens. */
  public int vocab() {
    return vocab;
  }

  public int maxLength() {
    return maxLength;
  }

  /** The valid ids of {@code text}: bytes and special tokens (truncated), then {@code </s>}. */
  public int[] ids(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    int[] out = new int[utf8.length + 1];
    int n = 0;
    int i = 0;
    while (i < utf8.length) {
      if (utf8[i] == '<') {
        int end = i + 1;
        while (end < utf8.length && utf8[end] != '>' && end - i < 64) {
          end++;
        }
        if (end < utf8.length && utf8[end] == '>') {
          Integer id = special.get(new String(utf8, i, end - i + 1, StandardCharsets.UTF_8));
          if (id != null) {
            out[n++] = id;
            i = end + 1;
            continue;
          }
        }
      }
      out[n++] = (utf8[i] & 0xff) + 3;
      i++;
    }
    int kept = Math.min(n, maxLength - 1);
    int[] ids = Arrays.copyOf(out, kept + 1);
    ids[kept] = 1;
    return ids;
  }

  /** The official {@code input_ids}: {@link #ids} padded with 0 to {@link #maxLength}. */
  public int[] paddedIds(String text) {
    return Arrays.copyOf(ids(text), maxLength);
  }
}
