//! The server's configuration file (TOML, or JSON when the file name ends in
//! `.json`): where to listen, TLS, the body limit, the simulated fleet and
//! the bearer tokens, and the workspaces and policies to declare at start.
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! data_dir = "/var/lib/fleetgov"
//! retention = "30d"
//! body_limit_bytes = 8388608
//!
//! [tls]
//! cert = "fleet-server.crt"
//! key = "fleet-server.key"
//!
//! [simulation]
//! enabled = true
//! nodes = 30000
//!
//! [limits]
//! header_read_timeout_ms = 10000
//! idle_timeout_ms = 60000
//! max_connections = 1024
//! max_event_streams_per_token = 16
//!
//! [[tokens]]
//! token = "change-me-viewer-token"
//! actor = "vera"
//! role = "viewer"
//! workspaces = ["acme-edge"]
//!
//! [[tokens]]
//! # the SHA-256 of change-me-admin-token: printf %s "$TOKEN" | sha256sum
//! token_sha256 = "9540e286914d31302d13288dadf5f462f951cd3fcda9877be1437a9ced6ccb68"
//! actor = "ada"
//! role = "admin"
//! workspaces = ["*"]
//!
//! [[workspaces]]
//! id = "acme-lab"
//! authority_mode = "dev_override"
//! min_runtime_version = "3.5.0"
//!
//! [[policies]]
//! id = "lab-limits"
//! workspace = "acme-lab"
//! [policies.rules]
//! rate_limit_rpm = { kind = "limit", value = 600 }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use fleetgov::Role;
use serde::Deserialize;

use crate::authority::{PolicyConfig, WorkspaceConfig};
use crate::token_hash::TokenHash;

/// The demo configuration shipped with the server: one token per role, all
/// marked `demo` so the dashboard can offer them.
pub const DEMO_CONFIG: &str = include_str!("../fleet-server.toml");

/// The whole configuration file.
///
/// ```
/// let c = fleetgov_server::ServerConfig::demo();
/// assert_eq!(c.tokens.len(), 3);
/// assert!(c.listen.ip().is_loopback() && c.demo && c.data_dir.is_none());
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The address to listen on (loopback by default; any other address only
    /// with TLS or the command line's `--insecure-listen`, see [`check_listen`]).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// HTTPS: the certificate and key to serve with. Plain HTTP without it.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// The data directory (the command line's `--data-dir`, which wins; see
    /// [`crate::storage`]). Relative paths are read from the working
    /// directory. When absent, the command line uses `./fleetgov-data`
    /// unless it is given `--ephemeral`.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// How long the execution history is kept, as [`parse_retention`]
    /// reads it (the command line's `--retention`, which wins): what ran
    /// before it answers 410 `HISTORY_UNAVAILABLE`, and the data
    /// directory's journal is compacted behind it. 30 days when absent.
    #[serde(default)]
    pub retention: Option<String>,
    /// A demo server: `GET /api/v1/demo-tokens` publishes the tokens marked
    /// `demo` for the dashboard's token picker. Off unless set; without it
    /// that endpoint answers 404 and no token is published.
    #[serde(default)]
    pub demo: bool,
    /// The largest request body accepted, in bytes.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// The event stream's flush period, in ms: what the change feed reports
    /// is gathered for one period (one view per changed cluster) and sent.
    #[serde(default = "default_event_poll_ms")]
    pub event_poll_ms: u64,
    /// The simulated fleet.
    #[serde(default)]
    pub simulation: SimulationConfig,
    /// Timeouts and caps on connections and event streams.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Bearer tokens and who they stand for.
    pub tokens: Vec<TokenConfig>,
    /// Workspaces to create or change at start ([`crate::authority`]).
    #[serde(default)]
    pub workspaces: Vec<WorkspaceConfig>,
    /// Org- and workspace-scoped policies to create or change at start ([`crate::authority`]).
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
}

/// The server's certificate and private key, as PEM files (the command
/// line's `--tls-cert` and `--tls-key`). Relative paths are read from the
/// working directory. The server then speaks HTTPS only, HTTP/1.1 over TLS
/// 1.2 or 1.3.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain: the server's own certificate first, then any
    /// intermediates.
    pub cert: PathBuf,
    /// The private key of the first certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The simulated fleet that keeps the demo moving.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationConfig {
    /// Whether to run it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Nodes across the three demo clusters, the seed nodes included.
    #[serde(default = "default_nodes")]
    pub nodes: usize,
    /// How often each node heartbeats, in ms.
    #[serde(default = "default_heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    /// How often the simulation wakes up, in ms.
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        SimulationConfig {
            enabled: true,
            nodes: default_nodes(),
            heartbeat_interval_ms: default_heartbeat_interval_ms(),
            tick_ms: default_tick_ms(),
        }
    }
}

/// What one client may hold of the server. Over the connection cap a new
/// connection is answered 503 `OVERLOADED` and closed; over the stream cap a
/// new event stream is answered 429 `TOO_MANY_STREAMS`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// How long a client may take to send a request's headers, and how long
    /// an open connection may wait for its next request, in ms.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// How long a request body may stop arriving, or a response stop being
    /// read by the client, before the connection is closed, in ms. An event
    /// stream with nothing to say stays open (its keep-alives are read).
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Open connections at most (every client together).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open `/api/v1/events` streams at most per bearer token.
    #[serde(default = "default_max_event_streams_per_token")]
    pub max_event_streams_per_token: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            header_read_timeout_ms: default_header_read_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            max_connections: default_max_connections(),
            max_event_streams_per_token: default_max_event_streams_per_token(),
        }
    }
}

fn default_header_read_timeout_ms() -> u64 {
    10_000
}
fn default_idle_timeout_ms() -> u64 {
    60_000
}
fn default_max_connections() -> usize {
    1_024
}
fn default_max_event_streams_per_token() -> usize {
    16
}

/// One bearer token: the secret itself (`token`) or its SHA-256
/// (`token_sha256`), exactly one of the two.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The secret the client sends as `Authorization: Bearer <token>`, in
    /// plain text.
    #[serde(default)]
    pub token: Option<String>,
    /// The SHA-256 of the secret, 64 hexadecimal digits, in place of `token`:
    /// the file then holds no secret. `printf %s "$TOKEN" | sha256sum` prints it.
    #[serde(default)]
    pub token_sha256: Option<TokenHash>,
    /// Who acts with it (recorded in the audit log).
    pub actor: String,
    /// What it may do.
    pub role: Role,
    /// The workspaces it may see; `"*"` is every workspace.
    pub workspaces: Vec<String>,
    /// A published demo token the dashboard may offer in its token picker
    /// (only when the configuration says `demo = true`; only a plain `token`).
    #[serde(default)]
    pub demo: bool,
}

impl TokenConfig {
    /// The SHA-256 of the secret: `token_sha256`, or `token` hashed.
    /// `None` only for an entry with neither (refused by validation).
    pub fn hash(&self) -> Option<TokenHash> {
        match (&self.token, &self.token_sha256) {
            (Some(token), _) => Some(TokenHash::of(token)),
            (None, hash) => hash.clone(),
        }
    }
}

/// One `[[tokens]]` table of the configuration file: the secret `token` in
/// plain text, for `actor` acting in `role` on `workspaces` (`"*"` for
/// every workspace). A test's or a benchmark's configuration is written of
/// these; a deployment's file had better give the secret's `token_sha256`.
///
/// ```
/// use fleetgov::Role;
/// use fleetgov_server::{ServerConfig, config::token_table};
/// let text = token_table("a-long-enough-token", "ada", Role::Admin, &["ws-0", "ws-1"]);
/// let config = ServerConfig::parse(&text, false).unwrap();
/// let token = &config.tokens[0];
/// assert_eq!((token.actor.as_str(), token.role, token.workspaces.len()), ("ada", Role::Admin, 2));
/// assert_eq!(token.token.as_deref(), Some("a-long-enough-token"));
/// ```
pub fn token_table(token: &str, actor: &str, role: Role, workspaces: &[&str]) -> String {
    let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
    let workspaces: Vec<String> = workspaces.iter().map(|w| quoted(w)).collect();
    format!(
        "[[tokens]]\ntoken = {}\nactor = {}\nrole = {}\nworkspaces = [{}]\n",
        quoted(token),
        quoted(actor),
        quoted(role.as_str()),
        workspaces.join(", ")
    )
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_body_limit() -> usize {
    8 << 20
}
fn default_event_poll_ms() -> u64 {
    1_000
}
fn yes() -> bool {
    true
}
fn default_nodes() -> usize {
    30_000
}
fn default_heartbeat_interval_ms() -> u64 {
    5_000
}
fn default_tick_ms() -> u64 {
    250
}

/// Refuses to listen on an address other than loopback unless the server
/// speaks TLS (`tls`) or the operator said `insecure`: over plain HTTP its
/// tokens travel in clear text.
///
/// ```
/// use fleetgov_server::config::check_listen;
/// assert!(check_listen("127.0.0.1:8080".parse().unwrap(), false, false).is_ok());
/// assert!(check_listen("[::1]:8080".parse().unwrap(), false, false).is_ok());
/// assert!(check_listen("0.0.0.0:8080".parse().unwrap(), false, false).unwrap_err().contains("--insecure-listen"));
/// assert!(check_listen("0.0.0.0:8080".parse().unwrap(), true, false).is_ok());
/// assert!(check_listen("0.0.0.0:8443".parse().unwrap(), false, true).is_ok());
/// ```
pub fn check_listen(listen: SocketAddr, insecure: bool, tls: bool) -> Result<(), String> {
    if listen.ip().is_loopback() || insecure || tls {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {listen} over plain HTTP: bearer tokens would cross the network in clear \
             text; configure TLS (--tls-cert and --tls-key, or [tls]), listen on loopback behind a \
             TLS-terminating proxy, or pass --insecure-listen"
        ))
    }
}

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 12;

impl ServerConfig {
    /// The shipped demo configuration.
    pub fn demo() -> Self {
        ServerConfig::parse(DEMO_CONFIG, false).expect("the shipped demo configuration is valid")
    }

    /// Reads a configuration file: JSON if its name ends in `.json`, else TOML.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        ServerConfig::parse(&text, json).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and validates a configuration text.
    ///
    /// ```
    /// use fleetgov_server::ServerConfig;
    /// let bad = r#"tokens = [{ token = "short", actor = "a", role = "admin", workspaces = ["*"] }]"#;
    /// assert!(ServerConfig::parse(bad, false).unwrap_err().contains("at least"));
    /// ```
    pub fn parse(text: &str, json: bool) -> Result<Self, String> {
        let config: ServerConfig = if json {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else {
            toml::from_str(text).map_err(|e| e.to_string())?
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.body_limit_bytes == 0 {
            return Err("body_limit_bytes must be positive".into());
        }
        if self.event_poll_ms == 0 || self.simulation.tick_ms == 0 || self.simulation.heartbeat_interval_ms == 0 {
            return Err(
                "event_poll_ms, simulation.tick_ms and simulation.heartbeat_interval_ms must be positive".into()
            );
        }
        let l = &self.limits;
        if l.header_read_timeout_ms == 0
            || l.idle_timeout_ms == 0
            || l.max_connections == 0
            || l.max_event_streams_per_token == 0
        {
            return Err("every value of [limits] must be positive".into());
        }
        let mut seen: Vec<TokenHash> = Vec::with_capacity(self.tokens.len());
        for t in &self.tokens {
            match (&t.token, &t.token_sha256) {
                (Some(token), None) => {
                    if token.len() < MIN_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                        return Err(format!(
                            "token of actor '{}' must be at least {MIN_TOKEN_LEN} characters without spaces",
                            t.actor
                        ));
                    }
                }
                (None, Some(_)) if t.demo => {
                    return Err(format!(
                        "token of actor '{}' is marked demo, which publishes it: give it as `token`, \
                         not `token_sha256`",
                        t.actor
                    ));
                }
                (None, Some(_)) => {}
                (Some(_), Some(_)) | (None, None) => {
                    return Err(format!(
                        "token of actor '{}' needs exactly one of `token` and `token_sha256`",
                        t.actor
                    ));
                }
            }
            if let Err(e) = fleetgov::validate_actor("actor", &t.actor) {
                return Err(format!("a token's actor is not valid: {}", e.message()));
            }
            if fleetgov::is_reserved_actor(&t.actor) {
                return Err(format!(
                    "actor '{}' is reserved for the engine's own audit records; give the token another actor",
                    t.actor
                ));
            }
            if t.workspaces.is_empty() {
                return Err(format!("token of actor '{}' lists no workspaces (use [\"*\"] for all)", t.actor));
            }
            let hash = t.hash().ok_or_else(|| format!("token of actor '{}' has no secret", t.actor))?;
            if seen.iter().any(|s| s.matches(&hash)) {
                return Err(format!("token of actor '{}' is listed twice", t.actor));
            }
            seen.push(hash);
        }
        for w in &self.workspaces {
            w.spec(None).map_err(|e| format!("workspace '{}': {}", w.id, e.message()))?;
        }
        for p in &self.policies {
            p.policy().map_err(|e| format!("policy '{}': {}", p.id, e.message()))?;
        }
        Ok(())
    }
}

/// Reads a retention such as `30d`, `12h`, `90m`, `45s` or `500ms`: a
/// whole number and a unit (days, hours, minutes, seconds, milliseconds),
/// at least 1 ms.
///
/// ```
/// use std::time::Duration;
/// use fleetgov_server::config::parse_retention;
/// assert_eq!(parse_retention("30d"), Ok(Duration::from_secs(30 * 86_400)));
/// assert_eq!(parse_retention("500ms"), Ok(Duration::from_millis(500)));
/// assert!(parse_retention("30").unwrap_err().contains("a unit"));
/// assert!(parse_retention("0h").is_err());
/// ```
pub fn parse_retention(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("retention {text:?}: a whole number and a unit (ms, s, m, h or d), such as 30d")),
    };
    let ms = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .filter(|&ms| ms > 0)
        .ok_or_else(|| format!("retention {text:?}: at least 1 ms, at most {} ms", u64::MAX))?;
    Ok(std::time::Duration::from_millis(ms))
}
