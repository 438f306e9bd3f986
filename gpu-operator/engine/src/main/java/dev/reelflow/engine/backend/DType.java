package dev.reelflow.engine.backend;

import dev.reelflow.engine.EngineApi;

/** Element type of a tensor's storage. Compute is always float32; half types are weight storage. */
@EngineApi
public enum DType {
  F32(4),
  F16(2),
  BF16(2);

  private final int bytes;

  DType(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** Decodes a bfloat16 bit pattern. */
  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** Encodes a float as bfloat16 with round-to-nearest-even (NaN stays NaN). */
  public static short floatToBf16(float f) {
    int x = Float.floatToRawIntBits(f);
    if ((x & 0x7fffffff) > 0x7f800000) {
      return (short) ((x >>> 16) | 0x40);
    }
    int rounding = 0x7fff + ((x >>> 16) & 1);
    return (short) ((x + rounding) >>> 16);
  }

  /** Decodes an IEEE half-precision bit pattern. */
  public static float f16ToFloat(short bits) {
    int h = bits & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0) {
      // subnormal or zero: value = mant * 2^-24
      float v = mant * 5.9604645e-8f;
      return sign == 0 ? v : -v;
    }
    if (exp == 31) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** Encodes a float as IEEE half precision (round to nearest even, overflow to infinity). */
  public static short floatToF16(float f) {
    int x = Float.floatToRawIntBits(f);
    int sign = (x >>> 16) & 0x8000;
    int abs = x & 0x7fffffff;
    if (abs > 0x7f800000) {
      return (short) (sign | 0x7e00);
    }
    if (abs >= 0x477ff000) {
      return (short) (sign | 0x7c00);
    }
    if (abs < 0x38800000) {
      // subnormal half: round abs/2^-24 to nearest even
      float v = Float.intBitsToFloat(abs) * 16777216f;
      int m = (int) Math.rint(v);
      return (short) (sign | m);
    }
    int exp = ((abs >>> 23) - 112) << 10;
    int mant = abs & 0x7fffff;
    int h = exp | (mant >>> 13);
    int rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) {
      h++;
    }
    return (short) (sign | h);
  }
}
