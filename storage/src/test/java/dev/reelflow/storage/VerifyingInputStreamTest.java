package dev.reelflow.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class VerifyingInputStreamTest {
  private static final byte[] DATA = "frames and more frames".getBytes();

  @Test
  void passesMatchingBytesThrough() throws Exception {
    try (InputStream in =
        new VerifyingInputStream(new ByteArrayInputStream(DATA), "k", Sha256.of(DATA))) {
      in.skip(3); // skipped bytes are hashed too
      byte[] rest = in.readAllBytes();
      assertThat(rest).hasSize(DATA.length - 3);
    }
  }

  @Test
  void throwsAtEndOfStreamOnMismatch() {
    InputStream in = new VerifyingInputStream(new ByteArrayInputStream(DATA), "k", "0".repeat(64));
    assertThatThrownBy(in::readAllBytes)
        .isInstanceOf(ChecksumMismatchException.class)
        .hasMessageContaining(Sha256.of(DATA));
  }
}
