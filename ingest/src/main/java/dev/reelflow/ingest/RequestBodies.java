package dev.reelflow.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.http.Context;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/** Reading request bodies with a size limit, checking content types, parsing JSON. */
final class RequestBodies {
  private RequestBodies() {}

  /** The media type without parameters, lower-case; empty when absent. */
  static String mediaType(Context ctx) {
    String ct = ctx.header("Content-Type");
    if (ct == null) {
      return "";
    }
    int semi = ct.indexOf(';');
    return (semi >= 0 ? ct.substring(0, semi) : ct).trim().toLowerCase(Locale.ROOT);
  }

  static String requireType(Context ctx, String... allowed) {
    String mt = mediaType(ctx);
    for (String a : allowed) {
      if (a.equals(mt)) {
        return mt;
      }
    }
    throw ApiException.unsupportedMediaType(
        "Content-Type must be "
            + String.join(" or ", allowed)
            + (mt.isEmpty() ? ", none was given" : ", got " + RenderValidation.clip(mt)));
  }

  /**
   * The least rate a body must average, in bytes per second, once reading it took longer than
   * {@code grace}: a client trickling its body (slowloris) would otherwise hold a request thread.
   */
  record MinRate(long bytesPerSecond, java.time.Duration grace) {}

  static ApiException timeout(String detail) {
    return new ApiException(408, "Request timeout", detail);
  }

  static byte[] read(Context ctx, long max) {
    long declared = ctx.req().getContentLengthLong();
    if (declared > max) {
      drain(ctx, declared);
      throw ApiException.tooLarge("The body has " + declared + " bytes; the limit is " + max);
    }
    MinRate rate = ctx.attribute(IngestServer.BODY_RATE_ATTR);
    long begin = System.nanoTime();
    try (InputStream in = ctx.req().getInputStream()) {
      if (declared >= 0) {
        // The usual case: the declared length is read into an array of exactly that size (the
        // server enforces Content-Length), instead of buffers sized for the largest body.
        byte[] body = new byte[(int) declared];
        int off = 0;
        int n;
        while (off < body.length && (n = in.read(body, off, body.length - off)) > 0) {
          off += n;
          checkRate(ctx, rate, off, begin);
        }
        if (off < declared) {
          throw ApiException.badRequest(
              "The body ended after " + off + " of " + declared + " declared bytes");
        }
        return body;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
      byte[] buf = new byte[16 * 1024];
      long total = 0;
      int n;
      while ((n = in.read(buf)) > 0) {
        total += n;
        checkRate(ctx, rate, total, begin);
        if (total > max) {
          drain(ctx, Long.MAX_VALUE);
          throw ApiException.tooLarge("The body is larger than the limit of " + max + " bytes");
        }
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    } catch (IOException e) {
      if (causedByTimeout(e)) {
        ctx.header("Connection", "close");
        throw timeout(
            "No byte of the body arrived for ingest.http.idle-timeout; send the body at once");
      }
      throw ApiException.badRequest("The body could not be read: " + e.getMessage());
    }
  }

  /** A 408 once the body, after the grace, averages less than the least accepted rate. */
  private static void checkRate(Context ctx, MinRate rate, long total, long begin) {
    if (rate == null) {
      return;
    }
    long elapsedNanos = System.nanoTime() - begin;
    if (elapsedNanos > rate.grace().toNanos()
        && total * 1_000_000_000.0 / elapsedNanos < rate.bytesPerSecond()) {
      ctx.header("Connection", "close");
      throw timeout(
          "The body arrived at "
              + Math.round(total * 1e9 / elapsedNanos)
              + " bytes/s; the least accepted is "
              + rate.bytesPerSecond()
              + " bytes/s (ingest.http.min-body-rate). Send the body at once.");
    }
  }

  private static boolean causedByTimeout(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.util.concurrent.TimeoutException
          || t instanceof java.net.SocketTimeoutException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Reads and drops a moderately oversized body so the 413 reaches a client that is still sending;
   * beyond 16 MiB the connection is closed instead.
   */
  private static void drain(Context ctx, long declared) {
    if (declared > DRAIN_LIMIT) {
      ctx.header("Connection", "close");
      return;
    }
    try {
      InputStream in = ctx.req().getInputStream();
      byte[] buf = new byte[16 * 1024];
      long total = 0;
      int n;
      while (total <= DRAIN_LIMIT && (n = in.read(buf)) > 0) {
        total += n;
      }
      if (total > DRAIN_LIMIT) {
        ctx.header("Connection", "close");
      }
    } catch (IOException e) {
      ctx.header("Connection", "close");
    }
  }

  private static final long DRAIN_LIMIT = 16L << 20;

  static JsonNode json(ObjectMapper json, byte[] body) {
    if (body.length == 0) {
      throw ApiException.badRequest("The body is empty; a JSON object is expected");
    }
    BatchParser.utf8(body);
    try {
      JsonNode n = json.readTree(body);
      if (n == null || n.isMissingNode()) {
        throw ApiException.badRequest("The body is empty; a JSON object is expected");
      }
      return n;
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest(
          "The body is not valid JSON: " + RenderValidation.clip(e.getOriginalMessage()));
    } catch (IOException e) {
      throw ApiException.badRequest("The body could not be read: " + e.getMessage());
    }
  }
}
