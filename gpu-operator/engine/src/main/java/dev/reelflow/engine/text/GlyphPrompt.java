package dev.reelflow.engine.text;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The glyph encoder's input as the official pipeline derives it from a prompt ({@code
 * _extract_glyph_texts}, then {@code MultilingualPromptFormat.format_prompt} without colours or
 * fonts):
 *
 * <ul>
 *   <li>quoted texts: the non-greedy matches of {@code "..."} or {@code “...”} (straight or curly
 *       double quotes; {@code .} does not cross a line feed, as in Python), in order; an empty
 *       quote gives an empty text; when there are several, duplicates are dropped keeping the
 *       first;
 *   <li>formatted: {@code Text "<text>". } for each (with the trailing space), concatenated.
 * </ul>
 *
 * No quoted text: the official pipeline feeds the transformer all-zero glyph features with an
 * all-zero mask (the glyph encoder does not run), as does the engine (zero glyph tokens).
 */
final class GlyphPrompt {
  /** Python's {@code r'\"(.*?)\"|“(.*?)”'} ({@code UNIX_LINES}: only {@code \n} ends a line). */
  private static final Pattern QUOTED =
      Pattern.compile("\"(.*?)\"|\u201c(.*?)\u201d", Pattern.UNIX_LINES);

  private GlyphPrompt() {}

  /** The quoted texts of a prompt, as the official {@code _extract_glyph_texts}. */
  public static List<String> extract(String prompt) {
    List<String> out = new ArrayList<>();
    Matcher m = QUOTED.matcher(prompt);
    while (m.find()) {
      out.add(m.group(1) != null ? m.group(1) : m.group(2));
    }
    return out.size() > 1 ? new ArrayList<>(new LinkedHashSet<>(out)) : out;
  }

  /** The official formatting of texts without colour or font: {@code Text "t". } each. */
  public static String format(List<String> texts) {
    StringBuilder b = new StringBuilder();
    for (String t : texts) {
      b.append("Text \"").append(t).append("\". ");
    }
    return b.toString();
  }
}
