package dev.reelflow.ingest;

/**
 * A tenant as ingest knows it: its id, the secret its webhooks are signed with, and its limits
 * (already resolved against the process defaults).
 */
record Tenant(String id, String webhookSecret, double ratePerSecond, int burst, long maxInFlight) {}
