package dev.reelflow.engine.text;

import dev.reelflow.engine.EngineApi;
import java.util.Arrays;

/**
 * The prompt of the MLLM text encoder exactly as the official HunyuanVideo-1.5 pipeline builds it
 * for videos (its {@code li-dit-encode-video-json} template, {@code TextEncoder.text2tokens} and
 * {@code encode}):
 *
 * <ol>
 *   <li>the conversation [system: {@link #VIDEO_SYSTEM_PROMPT}, user: the prompt], an empty prompt
 *       replaced by a single space ({@link #userContent});
 *   <li>rendered by Qwen2.5-VL's chat template with the generation prompt ({@link #render}): {@code
 *       <|im_start|>system\n...<|im_end|>\n<|im_start|>user\n<prompt><|im_end|>\n
 *       <|im_start|>assistant\n};
 *   <li>tokenized without special tokens added; {@code crop_start} is where the tokens of {@code
 *       <|im_start|>user\n} end in the rendering of the reference prompt "a photo of a cat"
 *       (computed once, as the official constructor does, within its first 256 tokens; 0 when not
 *       found);
 *   <li>the encoder's features are the {@link #MAX_LENGTH} positions after {@code crop_start}: the
 *       prompt's tokens, the template's closing tokens (mask 1), right padding (mask 0).
 * </ol>
 *
 * <p>Where the official code truncates silently (a prompt whose tokens and the closing tokens
 * exceed {@link #MAX_LENGTH}), {@link #tokens} refuses with {@link PromptTooLongException}.
 */
@EngineApi
public final class PromptTemplate {
  /**
   * The official video system prompt, character for character: the source's backslash line
   * continuations leave a run of nine spaces before each numbered item.
   */
  public static final String VIDEO_SYSTEM_PROMPT =
      "You are a helpful assistant. Describe the video by detailing the following aspects:"
          + "         1. The main content and theme of the video."
          + "         2. The color, shape, size, texture, quantity, text, and spatial relationships"
          + " of the objects."
          + "         3. Actions, events, behaviors temporal relationships, physical movement"
          + " changes of the objects."
          + "         4. background environment, light, style and atmosphere."
          + "         5. camera angles, movements, and transitions used in the video.";

  /** The official {@code max_length}: positions kept after {@code crop_start}. */
  public static final int MAX_LENGTH = 1000;

  /** The marker whose end is {@code crop_start}. */
  public static final String USER_MARKER = "<|im_start|>user\n";

  /** The prompt the official constructor renders to find {@code crop_start}. */
  static final String CROP_REFERENCE = "a photo of a cat";

  /** The official first pass tokenizes to at most this many tokens when it looks for the marker. */
  static final int CROP_PASS_LENGTH = 256;

  private final QwenTokenizer tokenizer;
  private final int maxLength;
  private final int cropStart;
  private final int closingTokens;

  /**
   * @param tokenizer the checkpoint's tokenizer
   * @param maxLength positions after {@code crop_start} ({@link #MAX_LENGTH} in the official
   *     pipeline)
   */
  public PromptTemplate(QwenTokenizer tokenizer, int maxLength) {
    if (maxLength < 1) {
      throw new IllegalArgumentException("maxLength must be >= 1, got " + maxLength);
    }
    this.tokenizer = tokenizer;
    this.maxLength = maxLength;
    this.cropStart = cropStart(tokenizer);
    // tokens after the prompt: what the rendering of the reference prompt has past it
    int[] ref = tokenizer.encode(render(CROP_REFERENCE));
    int[] refPrompt = tokenizer.encode(CROP_REFERENCE);
    this.closingTokens = ref.length - cropStart - refPrompt.length;
  }

  /** The user turn's content: the prompt, a single space for an empty prompt (as upstream). */
  public static String userContent(String prompt) {
    return prompt == null || prompt.isEmpty() ? " " : prompt;
  }

  /**
   * The conversation [system, user] rendered as Qwen2.5-VL's chat template renders string contents
   * with {@code add_generation_prompt=True}.
   */
  public static String render(String prompt) {
    return "<|im_start|>system\n"
        + VIDEO_SYSTEM_PROMPT
        + "<|im_end|>\n"
        + USER_MARKER
        + userContent(prompt)
        + "<|im_end|>\n<|im_start|>assistant\n";
  }

  /** The official {@code calculate_crop_start} on the rendering of the reference prompt. */
  static int cropStart(QwenTokenizer tokenizer) {
    int[] ids = tokenizer.encode(render(CROP_REFERENCE));
    int[] first = Arrays.copyOf(ids, Math.min(ids.length, CROP_PASS_LENGTH));
    int[] marker = tokenizer.encode(USER_MARKER);
    for (int i = 0; i + marker.length <= first.length; i++) {
      if (Arrays.equals(first, i, i + marker.length, marker, 0, marker.length)) {
        return i + marker.length;
      }
    }
    // the official fallback looks for a special token named like "user"; Qwen's have none
    return 0;
  }

  /** {@code crop_start}: template tokens before the prompt. */
  public int cropStart() {
    return cropStart;
  }

  /** Positions kept after {@code crop_start}. */
  public int maxLength() {
    return maxLength;
  }

  /** The template's tokens after the prompt ({@code <|im_end|>\n<|im_start|>assistant\n}: 5). */
  public int closingTokens() {
    return closingTokens;
  }

  /** The longest prompt, in tokens, that fits with the closing tokens in {@link #maxLength}. */
  public int promptTokenLimit() {
    return maxLength - closingTokens;
  }

  /**
   * The tokens of a prompt through the template.
   *
   * @throws PromptTooLongException when the prompt's tokens and the closing tokens exceed {@link
   *     #maxLength} (the official code would cut them off)
   */
  public PromptTokens tokens(String prompt) {
    int[] ids = tokenizer.encode(render(prompt));
    int kept = ids.length - cropStart;
    if (kept > maxLength) {
      throw new PromptTooLongException("prompt", kept - closingTokens, promptTokenLimit());
    }
    return new PromptTokens(ids, cropStart, maxLength, tokenizer.padId());
  }
}
