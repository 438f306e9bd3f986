package dev.reelflow.engine.text;

import dev.reelflow.engine.EngineApi;
import java.util.Arrays;

/**
 * A prompt's tokens through the official template: the whole rendering's ids and the window the
 * text encoder's features come from ({@code [cropStart, cropStart + maxLength)}, right-padded).
 *
 * @param ids every token of the rendered template, unpadded
 * @param cropStart template tokens before the prompt
 * @param maxLength positions of the window
 * @param padId the tokenizer's padding id
 */
@EngineApi
public record PromptTokens(int[] ids, int cropStart, int maxLength, int padId) {
  public PromptTokens {
    ids = ids.clone();
    if (cropStart < 0 || cropStart > ids.length || ids.length - cropStart > maxLength) {
      throw new IllegalArgumentException(
          ids.length + " tokens do not fit crop start " + cropStart + " + " + maxLength);
    }
  }

  @Override
  public int[] ids() {
    return ids.clone();
  }

  /** Valid positions of the window: the prompt's tokens and the template's closing tokens. */
  public int valid() {
    return ids.length - cropStart;
  }

  /** The official {@code input_ids}: the template padded to {@code cropStart + maxLength}. */
  public int[] paddedIds() {
    int[] out = Arrays.copyOf(ids, cropStart + maxLength);
    Arrays.fill(out, ids.length, out.length, padId);
    return out;
  }

  /** The official {@code attention_mask} over {@link #paddedIds}: 1 for tokens, 0 for padding. */
  public int[] paddedMask() {
    int[] m = new int[cropStart + maxLength];
    Arrays.fill(m, 0, ids.length, 1);
    return m;
  }
}
