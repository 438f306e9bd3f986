package dev.reelflow.e2e;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import dev.reelflow.engine.EngineApi;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The rooms and their doors, as ArchUnit rules over every ReelFlow class this module sees (the
 * runtime modules through the CLI, the stack, the engine's test jar, and this module's tests):
 *
 * <ul>
 *   <li>each module depends only on the modules its row of ARCHITECTURE.md, "Modules and what each
 *       may depend on" names (the build only keeps out modules that are not on the class path at
 *       all; these rules also catch the ones that arrive transitively);
 *   <li>code outside the engine uses only the engine's API, the types marked {@link EngineApi} (and
 *       their nested types), besides the test support in {@code dev.reelflow.engine.testing};
 *   <li>ingest uses of the engine only the prompt tokenizer (no native libraries).
 * </ul>
 *
 * The test modules ops/e2e and ops/contract see everything and have no rule.
 */
class ModuleBoundariesTest {
  private static final String OURS = "dev.reelflow";

  /** The modules by package; stack and stack-junit share a package and differ by location. */
  enum Module {
    CONFIG("dev.reelflow.config"),
    SCHEMAS("dev.reelflow.schemas"),
    STORAGE("dev.reelflow.storage"),
    INGEST("dev.reelflow.ingest"),
    ORCHESTRATOR("dev.reelflow.orchestrator"),
    ENGINE("dev.reelflow.engine"),
    WORKER("dev.reelflow.worker"),
    UPSCALE("dev.reelflow.upscale"),
    STACK("dev.reelflow.stack"),
    STACK_JUNIT("dev.reelflow.stack"),
    EMULATED("dev.reelflow.emulated"),
    BENCH("dev.reelflow.bench"),
    CLI("dev.reelflow.cli");

    final String pkg;

    Module(String pkg) {
      this.pkg = pkg;
    }

    /** ARCHITECTURE.md's table, row by row. */
    Set<Module> mayDependOn() {
      return switch (this) {
        case CONFIG, SCHEMAS, ENGINE, STACK -> Set.of();
        case STORAGE -> Set.of(CONFIG, SCHEMAS);
        // the engine only through the prompt tokenizer: see ingestUsesOnlyThePromptTokenizer
        case INGEST -> Set.of(CONFIG, SCHEMAS, STORAGE, ENGINE);
        case ORCHESTRATOR -> Set.of(CONFIG, SCHEMAS, STORAGE);
        case WORKER -> Set.of(CONFIG, SCHEMAS, STORAGE, ENGINE);
        // schemas: the worker SPI's ErrorCode; config: its engines' options
        case UPSCALE -> Set.of(CONFIG, ENGINE, WORKER, SCHEMAS);
        case STACK_JUNIT -> Set.of(STACK);
        case EMULATED -> Set.of(SCHEMAS);
        case BENCH ->
            Set.of(
                CONFIG,
                SCHEMAS,
                STORAGE,
                INGEST,
                ORCHESTRATOR,
                ENGINE,
                WORKER,
                UPSCALE,
                STACK,
                EMULATED);
        case CLI ->
            Set.of(
                CONFIG,
                SCHEMAS,
                STORAGE,
                INGEST,
                ORCHESTRATOR,
                ENGINE,
                WORKER,
                UPSCALE,
                STACK,
                EMULATED,
                BENCH);
      };
    }

    boolean contains(JavaClass c) {
      JavaClass base = c.getBaseComponentType();
      String p = base.getPackageName();
      if (!(p.equals(pkg) || p.startsWith(pkg + "."))) {
        return false;
      }
      if (pkg.equals(STACK.pkg)) {
        // the JUnit extension's module: its jar, or its classes folder in a reactor build
        boolean junit =
            base.getSource().map(s -> s.getUri().toString().contains("stack-junit")).orElse(false);
        return junit == (this == STACK_JUNIT);
      }
      return true;
    }

    DescribedPredicate<JavaClass> members() {
      return DescribedPredicate.describe("in module " + name().toLowerCase(), this::contains);
    }
  }

  /** The prompt tokenizer, the only part of the engine ingest may use. */
  private static final Set<String> PROMPT_TOKENIZER =
      Set.of(
          "dev.reelflow.engine.text.PromptTemplate",
          "dev.reelflow.engine.text.PromptTokens",
          "dev.reelflow.engine.text.QwenTokenizer",
          "dev.reelflow.engine.text.PromptTooLongException",
          "dev.reelflow.engine.checkpoint.ModelFolderException");

  private static JavaClasses ours;

  @BeforeAll
  static void importClasses() {
    ours = new ClassFileImporter().importPackages(OURS);
    // a rule over an empty or partial import would pass without checking anything
    for (Module m : Module.values()) {
      assertThat(ours.stream().filter(m::contains).count())
          .as("classes of module %s on this module's class path", m)
          .isPositive();
    }
  }

  @ParameterizedTest
  @EnumSource(Module.class)
  void eachModuleDependsOnlyOnWhatItsRowNames(Module m) {
    List<Module> forbidden =
        Arrays.stream(Module.values()).filter(o -> o != m && !m.mayDependOn().contains(o)).toList();
    Predicate<JavaClass> inForbidden = c -> forbidden.stream().anyMatch(o -> o.contains(c));
    noClasses()
        .that(m.members())
        .should()
        .dependOnClassesThat(
            DescribedPredicate.describe(
                "are in " + forbidden.stream().map(o -> o.name().toLowerCase()).toList(),
                inForbidden::test))
        .because("ARCHITECTURE.md, \"Modules and what each may depend on\"")
        .check(ours);
  }

  @Test
  void codeOutsideTheEngineUsesOnlyItsApi() {
    assertThat(ours.stream().filter(ModuleBoundariesTest::engineApi).count())
        .as("engine types marked @EngineApi")
        .isGreaterThan(20);
    noClasses()
        .that()
        .resideOutsideOfPackage(Module.ENGINE.pkg + "..")
        .should()
        .dependOnClassesThat(
            DescribedPredicate.describe(
                "are engine internals (not marked @EngineApi)",
                c -> Module.ENGINE.contains(c) && !engineApi(c) && !engineTestSupport(c)))
        .because("ARCHITECTURE.md, \"The engine\" names its API")
        .check(ours);
  }

  @Test
  void ingestUsesOnlyThePromptTokenizer() {
    classes()
        .that(Module.INGEST.members())
        .should()
        .onlyDependOnClassesThat(
            DescribedPredicate.describe(
                "are not in the engine, or are its prompt tokenizer",
                c ->
                    !Module.ENGINE.contains(c)
                        || PROMPT_TOKENIZER.contains(c.getBaseComponentType().getName())))
        .because("ARCHITECTURE.md: ingest uses the engine's prompt tokenizer only")
        .check(ours);
  }

  /** An API type, or a type nested in one. */
  private static boolean engineApi(JavaClass c) {
    JavaClass top = c.getBaseComponentType();
    while (top.getEnclosingClass().isPresent()) {
      top = top.getEnclosingClass().get();
    }
    return Module.ENGINE.contains(top)
        && (top.isAnnotatedWith(EngineApi.class) || top.isEquivalentTo(EngineApi.class));
  }

  private static boolean engineTestSupport(JavaClass c) {
    return c.getBaseComponentType().getPackageName().equals("dev.reelflow.engine.testing");
  }
}
