package dev.reelflow.engine.text;

import dev.reelflow.engine.EngineApi;
import dev.reelflow.engine.backend.Backend;
import dev.reelflow.engine.checkpoint.ModelFolder;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The official HunyuanVideo-1.5 text conditioning from a checkpoint folder's {@code text_encoder/}:
 * the MLLM stream ({@link QwenTextModel} on the prompt through {@link PromptTemplate}: the hidden
 * states after 26 of Qwen2.5-VL's 28 layers at the positions after {@code crop_start}, the prompt's
 * tokens and the template's closing tokens; padded to 1000 in the transformer's text stream) and
 * the glyph stream ({@link GlyphEncoder} on the prompt's quoted text; none without quotes).
 *
 * <p>The language model runs on the valid tokens only: its attention is causal, so right padding
 * never reaches a real token (tested against a padded run), and the transformer masks and zeroes
 * the padding positions anyway. A prompt over the limit fails with {@link PromptTooLongException}.
 */
@EngineApi
public final class HunyuanTextEncoder implements TextEncoder, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HunyuanTextEncoder.class);

  private final QwenTokenizer tokenizer;
  private final PromptTemplate template;
  private final QwenTextModel llm;
  private final GlyphEncoder glyph;

  HunyuanTextEncoder(
      QwenTokenizer tokenizer, QwenTextModel llm, GlyphEncoder glyph, int maxLength) {
    this.tokenizer = tokenizer;
    this.llm = llm;
    this.glyph = glyph;
    this.template = new PromptTemplate(tokenizer, maxLength);
  }

  /** Whether a checkpoint folder has the text encoders ({@code text_encoder/llm}). */
  public static boolean present(ModelFolder folder) {
    return folder.has("text_encoder/llm");
  }

  /**
   * Loads {@code text_encoder/llm} (with its tokenizer.json), {@code text_encoder/byt5-small} and
   * {@code text_encoder/Glyph-SDXL-v2} onto the backend.
   *
   * @param keepHalf keep the language model's 16-bit linear weights 16-bit
   */
  public static HunyuanTextEncoder open(ModelFolder folder, Backend backend, boolean keepHalf) {
    long t0 = System.nanoTime();
    var llmDir = folder.dir().resolve("text_encoder/llm");
    QwenTokenizer tok = QwenTokenizer.open(llmDir);
    QwenTextModel llm = null;
    try {
      llm = QwenTextModel.load(llmDir, backend, keepHalf);
      folder.textEncoder("byt5-small");
      GlyphEncoder g =
          GlyphEncoder.load(
              folder.dir().resolve("text_encoder/byt5-small"),
              folder.dir().resolve("text_encoder/Glyph-SDXL-v2"),
              backend);
      HunyuanTextEncoder e = new HunyuanTextEncoder(tok, llm, g, PromptTemplate.MAX_LENGTH);
      LOG.info(
          "text encoders loaded in {} s: {} ({} of {} layers run, crop_start {}), {}",
          String.format("%.1f", (System.nanoTime() - t0) / 1e9),
          llm.id(),
          llm.config().layersUsed(),
          llm.config().layers(),
          e.template.cropStart(),
          g.id());
      return e;
    } catch (RuntimeException ex) {
      tok.close();
      if (llm != null) {
        llm.close();
      }
      throw ex;
    }
  }

  /** {@code mllm=<llm id>;glyph=<glyph id>}. */
  @Override
  public String id() {
    return "mllm=qwen2.5-vl-" + llm.id() + ";glyph=byt5-" + glyph.id();
  }

  @Override
  public int dim() {
    return llm.config().hidden();
  }

  @Override
  public int glyphDim() {
    return glyph.dim();
  }

  /**
   * Bytes both encoders keep on the backend (the language model's layers and the glyph encoder).
   */
  public long weightBytes() {
    return llm.weightBytes() + glyph.weightBytes();
  }

  public PromptTemplate template() {
    return template;
  }

  @Override
  public TextFeatures encode(String prompt) {
    PromptTokens t = template.tokens(prompt);
    int[] ids = t.ids();
    float[] all = llm.hiddenStates(ids, null);
    int d = dim();
    float[] f = Arrays.copyOfRange(all, t.cropStart() * d, ids.length * d);
    float[] g = glyph.encodePrompt(prompt);
    return new TextFeatures(
        f,
        t.valid(),
        d,
        g,
        g.length / glyphDim(),
        glyphDim(),
        template.maxLength(),
        glyph.tokenizer().maxLength());
  }

  @Override
  public void close() {
    llm.close();
    glyph.close();
    tokenizer.close();
  }
}
