/**
 * The engine SPI of the worker runtime: what an engine must do, and nothing about Kafka or S3.
 *
 * <p>A base-stage engine implements {@link dev.reelflow.worker.spi.BaseVideoEngine}, an upscale
 * engine {@link dev.reelflow.worker.spi.UpscaleEngine}. Both are created by an {@link
 * dev.reelflow.worker.spi.EngineFactory} that the runtime finds by the configured name ({@code
 * engine = native | command | emulated | ...}) among the built-in factories, those registered with
 * {@link java.util.ServiceLoader} ({@code META-INF/services/dev.reelflow.worker.spi.EngineFactory})
 * and those given to {@link dev.reelflow.worker.spi.EngineRegistry.Builder#register}. Engines
 * report every step through {@link dev.reelflow.worker.spi.EngineContext#step}, which is also where
 * the runtime cancels them: it throws {@link dev.reelflow.worker.spi.TaskCancelledException}
 * between steps.
 */
package dev.reelflow.worker.spi;
