/**
 * The inputs of a render that come from outside the pipeline: an image-to-video render's reference
 * image. {@link dev.reelflow.storage.input.ImageSource} reads an {@code imageUrl} (a data URI, an
 * {@code s3://} object of the tenant's, or an https URL), {@link
 * dev.reelflow.storage.input.ImageInfo} checks an encoded image against {@link
 * dev.reelflow.storage.input.ImageLimits} from its headers, {@link
 * dev.reelflow.storage.input.AddressPolicy} holds the server-side request forgery rules (for every
 * URL a client gives: reference images and ingest's webhook callbacks), {@link
 * dev.reelflow.storage.input.CheckedHttpClient} is the one HTTP client that connects under them,
 * and {@link dev.reelflow.storage.input.RemoteImageFetcher} fetches an image with it. Refusals are
 * {@link dev.reelflow.storage.input.ImageRejectedException}s with a message for the client.
 */
package dev.reelflow.storage.input;
