package dev.reelflow.ingest;

import dev.reelflow.engine.text.PromptTemplate;
import dev.reelflow.engine.text.PromptTooLongException;
import dev.reelflow.engine.text.QwenTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * How long a prompt (and a negative prompt) may be at submit. Always at most {@link
 * RenderValidation#MAX_PROMPT} characters. With the base model's tokenizer ({@code
 * ingest.prompt.model-dir}) also at most what the text encoder takes, counted through the engine's
 * own {@link PromptTemplate}: the code the worker encodes with, so a prompt is refused here exactly
 * when the worker would refuse it, as a 422 instead of a failed render.
 */
final class PromptLength implements AutoCloseable {
  private final QwenTokenizer tokenizer;
  private final PromptTemplate template;

  private PromptLength(QwenTokenizer tokenizer) {
    this.tokenizer = tokenizer;
    this.template =
        tokenizer == null ? null : new PromptTemplate(tokenizer, PromptTemplate.MAX_LENGTH);
  }

  /** The character bound only: the worker's text encoder counts tokens later. */
  static PromptLength characters() {
    return new PromptLength(null);
  }

  /**
   * The character bound and the token bound of the checkpoint folder's text encoder: {@code dir} is
   * the checkpoint folder (its {@code text_encoder/llm/tokenizer.json} is read) or the folder of a
   * {@code tokenizer.json} itself.
   *
   * @throws dev.reelflow.engine.checkpoint.ModelFolderException when no readable tokenizer is there
   */
  static PromptLength tokens(Path dir) {
    Path llm = dir.resolve("text_encoder").resolve("llm");
    return new PromptLength(
        QwenTokenizer.open(Files.isRegularFile(llm.resolve("tokenizer.json")) ? llm : dir));
  }

  static PromptLength of(IngestConfig config) {
    String dir = config.get(IngestConfig.PROMPT_MODEL_DIR);
    return dir.isBlank() ? characters() : tokens(Path.of(dir));
  }

  /** Whether prompts are counted in tokens (a tokenizer is configured). */
  boolean countsTokens() {
    return template != null;
  }

  /** The most tokens a prompt may have, or -1 when only characters are counted. */
  int tokenLimit() {
    return template == null ? -1 : template.promptTokenLimit();
  }

  /** The problem with {@code text} in request field {@code field}, if any. */
  Optional<FieldError> check(String field, String text) {
    int chars = text.codePointCount(0, text.length());
    if (chars > RenderValidation.MAX_PROMPT) {
      return Optional.of(
          new FieldError(
              field,
              "must be at most " + RenderValidation.MAX_PROMPT + " characters, got " + chars));
    }
    if (template != null) {
      try {
        template.tokens(text);
      } catch (PromptTooLongException e) {
        return Optional.of(new FieldError(field, e.forField(field).getMessage()));
      }
    }
    return Optional.empty();
  }

  @Override
  public void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
  }
}
