package dev.reelflow.ingest;

import io.javalin.http.Context;

/** One registered route: method, Javalin path template, handler and whether it needs a tenant. */
record Route(String method, String path, Handler handler, boolean authenticated) {

  /** A handler that knows the calling tenant (null on unauthenticated routes). */
  interface Handler {
    void handle(Context ctx, Tenant tenant) throws Exception;
  }
}
