package dev.reelflow.engine;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a type of the engine's API: the types code outside {@code dev.reelflow.engine} may use
 * (with their nested types). Every other public engine type is internal, public only because
 * another engine package uses it, and may change without notice. {@code ModuleBoundariesTest} (in
 * ops/e2e) fails when a class outside the engine depends on an unmarked engine type; the list is in
 * ARCHITECTURE.md, "The engine".
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target(ElementType.TYPE)
public @interface EngineApi {}
