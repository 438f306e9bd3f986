package dev.reelflow.storage;

/**
 * Outcome of a write-once publish.
 *
 * @param object the object now at the key
 * @param alreadyPresent true when an identical object (same SHA-256) was already published, e.g. by
 *     an earlier attempt or by this call's own retried request; nothing was replaced
 */
public record PublishResult(StoredObject object, boolean alreadyPresent) {}
