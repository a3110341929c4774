package dev.fleetgov;

/**
 * Who wins between the cloud's configuration and a runtime's local configuration.
 *
 * <pre>{@code
 * engine.upsertWorkspace(WorkspaceSpec.of("ws-1").withAuthorityMode(AuthorityMode.TIGHTEN_ONLY));
 * }</pre>
 */
public enum AuthorityMode {
    /** Cloud configuration overrides local configuration. */
    AUTHORITATIVE,
    /** Cloud may tighten but never loosen local policy, rule by rule. */
    TIGHTEN_ONLY,
    /** Local configuration wins; development clusters only. */
    DEV_OVERRIDE
}
