package dev.reelflow.engine.text;

import dev.reelflow.engine.testing.SyntheticModelFolder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

final class SyntheticTextEncodersTestSupport {
  private SyntheticTextEncodersTestSupport() {}

  static void addColour(Path glyph, String name) throws Exception {
    Path f = glyph.resolve("assets").resolve("color_idx.json");
    Map<String, Object> c = new LinkedHashMap<>(QwenTextModel.readJson(f));
    c.put(name, (long) c.size());
    SyntheticModelFolder.writeJson(f, c);
  }
}
