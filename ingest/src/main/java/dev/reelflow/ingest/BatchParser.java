package dev.reelflow.ingest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Splits a batch body (NDJSON or CSV with a header row) into render bodies, one JSON object per
 * row, and turns query parameters into shared defaults. Rows are only parsed here; {@link
 * RenderValidation} checks them.
 */
final class BatchParser {
  static final Set<String> INTEGER_FIELDS = Set.of("frames", "fps", "steps", "seed", "priority");
  private static final int MAX_LISTED_ERRORS = 1000;

  /** Rows parsed so far, plus per-row parse errors (field {@code rows[i]}). */
  record Rows(List<ObjectNode> rows, List<FieldError> errors) {}

  private BatchParser() {}

  static String utf8(byte[] body) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body))
          .toString();
    } catch (CharacterCodingException e) {
      throw ApiException.badRequest("The body is not valid UTF-8");
    }
  }

  static Rows ndjson(byte[] body, ObjectMapper json, int maxRows) {
    Rows rows = oneObjectPerLine(body, json, maxRows);
    return rows != null ? rows : lineByLine(body, json, maxRows);
  }

  /**
   * The common case in one pass of one parser over the bytes: every non-blank line is exactly one
   * JSON object. Null when the body is anything else (a parse error, a value that is not an object,
   * two values on a line, one spread over lines, a byte order mark); {@link #lineByLine} then gives
   * the per-line answer. About a third of a 10,000-row batch's parsing time was making a parser per
   * line.
   */
  static Rows oneObjectPerLine(byte[] body, ObjectMapper json, int maxRows) {
    if (body.length >= 3 && (body[0] & 0xff) == 0xef) {
      return null;
    }
    List<ObjectNode> rows = new ArrayList<>();
    // The service's mapper refuses trailing tokens, which here are the next line's object.
    ObjectReader reader = json.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    try (JsonParser p = json.getFactory().createParser(body)) {
      int lastLine = 0;
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        int line = p.currentTokenLocation().getLineNr();
        if (t != JsonToken.START_OBJECT || line == lastLine) {
          return null;
        }
        JsonNode n = reader.readTree(p);
        if (!(n instanceof ObjectNode o) || p.currentLocation().getLineNr() != line) {
          return null;
        }
        if (rows.size() >= maxRows) {
          throw ApiException.tooLarge("A batch may hold at most " + maxRows + " rows");
        }
        rows.add(o);
        lastLine = line;
      }
    } catch (IOException e) {
      return null;
    }
    return new Rows(rows, List.of());
  }

  static Rows lineByLine(byte[] body, ObjectMapper json, int maxRows) {
    String text = utf8(body);
    List<ObjectNode> rows = new ArrayList<>();
    List<FieldError> errors = new ArrayList<>();
    int line = 0;
    int start = 0;
    while (start <= text.length()) {
      int end = text.indexOf('\n', start);
      if (end < 0) {
        end = text.length();
      }
      line++;
      String l = text.substring(start, end).strip();
      start = end + 1;
      if (l.isEmpty()) {
        continue;
      }
      if (rows.size() >= maxRows) {
        throw ApiException.tooLarge("A batch may hold at most " + maxRows + " rows");
      }
      int row = rows.size();
      try {
        JsonNode n = json.readTree(l);
        if (n instanceof ObjectNode o) {
          rows.add(o);
        } else {
          addError(errors, "rows[" + row + "]", "line " + line + " must be a JSON object");
          rows.add(JsonNodeFactory.instance.objectNode());
        }
      } catch (JsonProcessingException e) {
        addError(
            errors,
            "rows[" + row + "]",
            "line "
                + line
                + " is not valid JSON: "
                + RenderValidation.clip(e.getOriginalMessage()));
        rows.add(JsonNodeFactory.instance.objectNode());
      }
    }
    return new Rows(rows, errors);
  }

  static Rows csv(byte[] body, int maxRows) {
    String text = utf8(body);
    if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
      text = text.substring(1);
    }
    List<List<String>> records = new CsvReader(text, maxRows + 1).readAll();
    List<ObjectNode> rows = new ArrayList<>();
    List<FieldError> errors = new ArrayList<>();
    if (records.isEmpty()) {
      return new Rows(rows, errors);
    }
    List<String> header = records.get(0);
    List<String> columns = new ArrayList<>();
    for (int c = 0; c < header.size(); c++) {
      String h = header.get(c).strip();
      String base = h.startsWith("labels.") ? "labels" : h.startsWith("label.") ? "labels" : h;
      if (!RenderValidation.FIELDS.contains(base) || base.equals("labels") && h.indexOf('.') < 0) {
        addError(
            errors,
            "header[" + c + "]",
            "unknown column '" + RenderValidation.clip(h) + "' (labels go in label.<key> columns)");
      }
      if (columns.contains(h)) {
        addError(
            errors, "header[" + c + "]", "duplicate column '" + RenderValidation.clip(h) + "'");
      }
      columns.add(h);
    }
    if (!errors.isEmpty()) {
      return new Rows(rows, errors);
    }
    for (int r = 1; r < records.size(); r++) {
      List<String> cells = records.get(r);
      if (cells.size() == 1 && cells.get(0).isBlank()) {
        continue;
      }
      if (rows.size() >= maxRows) {
        throw ApiException.tooLarge("A batch may hold at most " + maxRows + " rows");
      }
      int row = rows.size();
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      if (cells.size() != columns.size()) {
        addError(
            errors,
            "rows[" + row + "]",
            "has " + cells.size() + " cells, the header has " + columns.size());
      } else {
        for (int c = 0; c < columns.size(); c++) {
          String v = cells.get(c);
          if (v.isEmpty()) {
            continue;
          }
          String col = columns.get(c);
          int dot = col.indexOf('.');
          if (dot > 0) {
            ObjectNode labels =
                o.has("labels") ? (ObjectNode) o.get("labels") : o.putObject("labels");
            labels.put(col.substring(dot + 1), v);
          } else {
            o.set(col, typed(col, v));
          }
        }
      }
      rows.add(o);
    }
    return new Rows(rows, errors);
  }

  /** Query parameters as a render body of shared defaults; unknown ones are field errors. */
  static ObjectNode defaults(Map<String, List<String>> query, List<FieldError> errors) {
    ObjectNode d = JsonNodeFactory.instance.objectNode();
    for (Map.Entry<String, List<String>> e : query.entrySet()) {
      String k = e.getKey();
      List<String> values = e.getValue();
      if (k.equals("label")) {
        ObjectNode labels = d.putObject("labels");
        for (String v : values) {
          int colon = v.indexOf(':');
          if (colon <= 0) {
            errors.add(new FieldError("query.label", "must read key:value"));
          } else {
            labels.put(v.substring(0, colon), v.substring(colon + 1));
          }
        }
      } else if (RenderValidation.FIELDS.contains(k) && !k.equals("labels")) {
        if (values.size() != 1) {
          errors.add(new FieldError("query." + k, "must be given once"));
        } else {
          d.set(k, typed(k, values.get(0)));
        }
      } else {
        errors.add(new FieldError("query." + RenderValidation.clip(k), "unknown parameter"));
      }
    }
    return d;
  }

  /** A text cell as the JSON type its field expects; left as text when it doesn't parse. */
  static JsonNode typed(String field, String v) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    String s = v.strip();
    if (INTEGER_FIELDS.contains(field)) {
      try {
        return f.numberNode(Long.parseLong(s));
      } catch (NumberFormatException e) {
        return f.textNode(v);
      }
    }
    if (field.equals("guidanceScale")) {
      try {
        return f.numberNode(Double.parseDouble(s));
      } catch (NumberFormatException e) {
        return f.textNode(v);
      }
    }
    return f.textNode(v);
  }

  static void addError(List<FieldError> errors, String field, String message) {
    if (errors.size() < MAX_LISTED_ERRORS) {
      errors.add(new FieldError(field, message));
    }
  }

  /** RFC 4180: quoted cells may hold commas, CR/LF and doubled quotes. */
  static final class CsvReader {
    private final String s;
    private final int maxRecords;
    private int i;

    CsvReader(String s, int maxRecords) {
      this.s = s;
      this.maxRecords = maxRecords;
    }

    List<List<String>> readAll() {
      List<List<String>> out = new ArrayList<>();
      while (i < s.length()) {
        if (out.size() >= maxRecords) {
          throw ApiException.tooLarge("A batch may hold at most " + (maxRecords - 1) + " rows");
        }
        out.add(record(out.size()));
      }
      return out;
    }

    private List<String> record(int recordNo) {
      List<String> cells = new ArrayList<>();
      StringBuilder cell = new StringBuilder();
      boolean quoted = false;
      boolean wasQuoted = false;
      while (i < s.length()) {
        char c = s.charAt(i++);
        if (quoted) {
          if (c == '"') {
            if (i < s.length() && s.charAt(i) == '"') {
              cell.append('"');
              i++;
            } else {
              quoted = false;
            }
          } else {
            cell.append(c);
          }
        } else if (c == '"' && cell.isEmpty() && !wasQuoted) {
          quoted = true;
          wasQuoted = true;
        } else if (c == ',') {
          cells.add(cell.toString());
          cell.setLength(0);
          wasQuoted = false;
        } else if (c == '\n' || c == '\r') {
          if (c == '\r' && i < s.length() && s.charAt(i) == '\n') {
            i++;
          }
          cells.add(cell.toString());
          return cells;
        } else {
          cell.append(c);
        }
      }
      if (quoted) {
        throw ApiException.invalid(
            List.of(
                new FieldError(
                    recordNo == 0 ? "header" : "rows[" + (recordNo - 1) + "]",
                    "has a quoted cell that never closes")));
      }
      cells.add(cell.toString());
      return cells;
    }
  }
}
