package dev.reelflow.stack;

/**
 * Where registry commands are ordered and applied; Kafka in production, in-memory in unit tests.
 */
interface SchemaLog {
  /** Appends a command and returns the result of applying it in log order. */
  Object submit(RegistryCommand command) throws RegistryException;

  /** Waits until every command appended so far (by any instance) has been applied. */
  void awaitCaughtUp() throws RegistryException;
}
