package dev.reelflow.engine.text;

/**
 * A prompt longer than the text encoder takes. The official pipeline would truncate it silently
 * (and with it the template's closing tokens); the engine refuses it instead. The worker reports it
 * as a permanent bad-parameters failure naming {@link #field()} and the limit.
 */
public final class PromptTooLongException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final int tokens;
  private final int limit;

  /**
   * @param tokens the prompt's tokens
   * @param limit the most the encoder takes
   */
  public PromptTooLongException(int tokens, int limit) {
    super(
        "prompt is "
            + tokens
            + " tokens long; the text encoder takes at most "
            + limit
            + " (max_length "
            + PromptTemplate.MAX_LENGTH
            + " minus the template's closing tokens): shorten the prompt");
    this.tokens = tokens;
    this.limit = limit;
  }

  /** The request field: {@code prompt}. */
  public String field() {
    return "prompt";
  }

  /** The prompt's tokens. */
  public int tokens() {
    return tokens;
  }

  /** The most tokens a prompt may have. */
  public int limit() {
    return limit;
  }
}
