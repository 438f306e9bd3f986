package dev.reelflow.storage;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * Hashes what passes through and, at end of stream, throws {@link ChecksumMismatchException} when
 * the bytes do not match the expected SHA-256.
 */
final class VerifyingInputStream extends FilterInputStream {
  private final String key;
  private final String expected;
  private final MessageDigest digest = Sha256.newDigest();
  private boolean checked;

  VerifyingInputStream(InputStream in, String key, String expected) {
    super(in);
    this.key = key;
    this.expected = expected;
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b < 0) {
      check();
    } else {
      digest.update((byte) b);
    }
    return b;
  }

  @Override
  public int read(byte[] buf, int off, int len) throws IOException {
    int n = super.read(buf, off, len);
    if (n < 0) {
      check();
    } else {
      digest.update(buf, off, n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    // Skipped bytes must be hashed too, so skip by reading.
    byte[] buf = new byte[8192];
    long left = n;
    while (left > 0) {
      int r = read(buf, 0, (int) Math.min(buf.length, left));
      if (r < 0) {
        break;
      }
      left -= r;
    }
    return n - left;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  private void check() {
    if (checked) {
      return;
    }
    checked = true;
    String actual = Sha256.hex(digest);
    if (!actual.equals(expected)) {
      throw new ChecksumMismatchException(key, expected, actual);
    }
  }
}
