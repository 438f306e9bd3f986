package dev.reelflow.storage;

/** A key was used on behalf of a tenant that does not own it. */
public final class KeyOutsideTenantException extends StorageException {
  private final String tenant;
  private final String key;

  public KeyOutsideTenantException(String tenant, String key) {
    super(
        "Key '"
            + key
            + "' is outside the prefix of tenant '"
            + tenant
            + "/'. A tenant may only read or presign its own artifacts: build keys with"
            + " ArtifactKeys for the same tenant.");
    this.tenant = tenant;
    this.key = key;
  }

  public String tenant() {
    return tenant;
  }

  public String key() {
    return key;
  }
}
