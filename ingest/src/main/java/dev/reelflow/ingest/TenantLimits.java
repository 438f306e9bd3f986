package dev.reelflow.ingest;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Per-tenant request rate (a token bucket: {@code burst} tokens, refilled at the tenant's rate) and
 * in-flight quota (renders not yet in a final state). Both answer 429 with a Retry-After.
 */
final class TenantLimits {
  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final LongSupplier nanoClock;

  TenantLimits(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  private static final class Bucket {
    double tokens;
    long last;

    Bucket(double tokens, long last) {
      this.tokens = tokens;
      this.last = last;
    }
  }

  /** Takes one token or throws 429 with the seconds until one is available. */
  void acquire(Tenant t) {
    Bucket b = buckets.computeIfAbsent(t.id(), id -> new Bucket(t.burst(), nanoClock.getAsLong()));
    synchronized (b) {
      long now = nanoClock.getAsLong();
      b.tokens = Math.min(t.burst(), b.tokens + (now - b.last) / 1e9 * t.ratePerSecond());
      b.last = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return;
      }
      long wait = (long) Math.ceil((1 - b.tokens) / t.ratePerSecond());
      throw ApiException.tooManyRequests(
          "Tenant '" + t.id() + "' is over its rate limit of " + t.ratePerSecond() + " requests/s",
          wait);
    }
  }

  /** Throws 429 when {@code adding} more renders would exceed the tenant's in-flight quota. */
  /** Whether {@code adding} more renders keep the tenant within its in-flight quota. */
  static boolean allows(Tenant t, long inFlight, long adding) {
    return inFlight + adding <= t.maxInFlight();
  }

  static void checkQuota(Tenant t, long inFlight, long adding) {
    if (!allows(t, inFlight, adding)) {
      throw ApiException.tooManyRequests(
          "Tenant '"
              + t.id()
              + "' has "
              + inFlight
              + " renders in flight; the quota is "
              + t.maxInFlight()
              + " (this request adds "
              + adding
              + "). Retry when some have finished.",
          30);
    }
  }
}
