package dev.reelflow.engine.text;

import dev.reelflow.engine.EngineApi;

/**
 * A prompt longer than the text encoder takes. The official pipeline would truncate it silently
 * (and with it the template's closing tokens); the engine refuses it instead. The worker reports it
 * as a permanent bad-parameters failure naming {@link #field()} and the limit; ingest refuses it at
 * submit with a 422 where it knows the tokenizer.
 */
@EngineApi
public final class PromptTooLongException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String field;
  private final int tokens;
  private final int limit;

  /**
   * @param field the request field the text came from ({@code prompt} or {@code negativePrompt})
   * @param tokens the text's tokens
   * @param limit the most the encoder takes
   */
  public PromptTooLongException(String field, int tokens, int limit) {
    super(
        field
            + " is "
            + tokens
            + " tokens long; the text encoder takes at most "
            + limit
            + " (max_length "
            + PromptTemplate.MAX_LENGTH
            + " minus the template's closing tokens): shorten the "
            + field);
    this.field = field;
    this.tokens = tokens;
    this.limit = limit;
  }

  /** The same refusal for another request field (the negative prompt goes the same way). */
  public PromptTooLongException forField(String otherField) {
    return new PromptTooLongException(otherField, tokens, limit);
  }

  /** The request field: {@code prompt} or {@code negativePrompt}. */
  public String field() {
    return field;
  }

  /** The text's tokens. */
  public int tokens() {
    return tokens;
  }

  /** The most tokens a prompt may have. */
  public int limit() {
    return limit;
  }
}
