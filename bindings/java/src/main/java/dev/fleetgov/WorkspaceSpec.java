package dev.fleetgov;

/**
 * A workspace as its owner declares it: the authority scope of its clusters.
 *
 * <pre>{@code
 * engine.upsertWorkspace(WorkspaceSpec.of("ws-1")
 *         .withAuthorityMode(AuthorityMode.TIGHTEN_ONLY)
 *         .withMinRuntimeVersion("3.5.0"));
 * }</pre>
 *
 * @param id the workspace id
 * @param authorityMode who wins between cloud and local configuration
 * @param minRuntimeVersion runtimes below this semantic version are {@link DriftStatus#UPGRADE_REQUIRED}
 */
public record WorkspaceSpec(String id, AuthorityMode authorityMode, String minRuntimeVersion) {
    /** The engine's default minimum runtime version. */
    public static final String DEFAULT_MIN_RUNTIME_VERSION = "3.4.0";

    /**

     * Checks that every component is present.

     *

     * @param id the workspace id

     * @param authorityMode who wins between cloud and local configuration

     * @param minRuntimeVersion runtimes below this semantic version are {@link DriftStatus#UPGRADE_REQUIRED}

     */
    public WorkspaceSpec {
        Args.id("workspace", id);
        Args.present("authorityMode", authorityMode);
        Args.text("minRuntimeVersion", minRuntimeVersion);
    }

    /**
     * A workspace with the defaults: authoritative, minimum version 3.4.0.
     *
     * @param id the workspace id
     * @return the spec
     */
    public static WorkspaceSpec of(String id) {
        return new WorkspaceSpec(id, AuthorityMode.AUTHORITATIVE, DEFAULT_MIN_RUNTIME_VERSION);
    }

    /**
     * This spec with another authority mode.
     *
     * @param mode the mode
     * @return a new spec
     */
    public WorkspaceSpec withAuthorityMode(AuthorityMode mode) {
        return new WorkspaceSpec(id, mode, minRuntimeVersion);
    }

    /**
     * This spec with another minimum runtime version.
     *
     * @param version a semantic version such as {@code 3.5.0}
     * @return a new spec
     */
    public WorkspaceSpec withMinRuntimeVersion(String version) {
        return new WorkspaceSpec(id, authorityMode, version);
    }
}
