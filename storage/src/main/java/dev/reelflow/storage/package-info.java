/**
 * Where every artifact lands: the object store on the S3 API (MinIO Java SDK), the one place that
 * builds object keys, the manifest.json format and the OpenLineage events of a render.
 *
 * <p>Public types: {@link dev.reelflow.storage.ArtifactStore} (with its builder and {@link
 * dev.reelflow.storage.RetryPolicy}), {@link dev.reelflow.storage.ArtifactKeys}, {@link
 * dev.reelflow.storage.Manifest}, {@link dev.reelflow.storage.LineageEvents}, the value types
 * {@link dev.reelflow.storage.ObjectAttributes}, {@link dev.reelflow.storage.StoredObject}, {@link
 * dev.reelflow.storage.PublishResult}, {@link dev.reelflow.storage.BucketStatus}, and the
 * exceptions rooted at {@link dev.reelflow.storage.StorageException}. Reference images of
 * image-to-video renders (data URIs, stored objects, URLs fetched under the SSRF rules) are read by
 * {@link dev.reelflow.storage.input}.
 */
package dev.reelflow.storage;
