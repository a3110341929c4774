//! The commands, their arguments and their output.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::client::{Client, CtlError};
use crate::{table, verify};

/// fleetctl: what every node of a fleetgov fleet runs, and the operator's controls.
#[derive(Debug, Parser)]
#[command(name = "fleetctl", version)]
pub struct Cli {
    /// The fleet server.
    #[arg(long, env = "FLEETGOV_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    server: String,
    /// The API token (a bearer token of the server's configuration).
    #[arg(long, env = "FLEETGOV_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Tables for people, or the server's JSON.
    #[arg(long, short, value_enum, default_value_t = Output::Table, global = true)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One line per cluster: status, cohesion, verified / total, desired snapshot.
    Status,
    /// The node matrix of a cluster.
    Nodes(NodesArgs),
    /// Publish a file as a cluster's next snapshot (its desired state), at
    /// once or, with `--waves`, rolled out wave by wave.
    Publish(PublishArgs),
    /// A cluster's rollout: `rollout show C`, or `rollout pause|resume|abort|promote C --reason ...`
    /// (operator; audited).
    Rollout(RolloutArgs),
    /// Force nodes to resync their desired snapshot (an audited override).
    ForceSync(ForceArgs),
    /// What a node ran at a moment.
    WhatRan {
        /// The node.
        node: String,
        /// The moment: unix milliseconds, RFC 3339 (`2026-11-29T10:00:00Z`) or `now`.
        #[arg(long, default_value = "now")]
        at: String,
    },
    /// Every change of what a node ran in a time range.
    History {
        /// The node.
        node: String,
        /// From (default: where the history begins); as `what-ran --at`.
        #[arg(long)]
        from: Option<String>,
        /// To (default: now); as `what-ran --at`.
        #[arg(long)]
        to: Option<String>,
    },
    /// The audit log, newest first; `audit verify` checks it offline.
    Audit(AuditArgs),
    /// One node: `node remove N` ends its enrolment (an audited change).
    #[command(subcommand)]
    Node(NodeCommand),
    /// Workspaces: `workspace set W --mode tighten_only --min-version 3.4.0`.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Shell completions for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
struct PublishArgs {
    /// The cluster.
    cluster: String,
    /// The configuration file (UTF-8 text when rolled out with `--waves`).
    file: std::path::PathBuf,
    /// Roll out in waves: cumulative percentages of the cluster's nodes, the last 100 (e.g. `10,50,100`).
    #[arg(long, value_delimiter = ',')]
    waves: Option<Vec<u8>>,
    /// How long a converged wave holds before the next starts (e.g. `60s`, `5m`; default 0s).
    #[arg(long, requires = "waves", value_parser = duration_ms)]
    bake: Option<u64>,
    /// Failures allowed among the nodes of started waves, in percent (default 0): more halt the rollout.
    #[arg(long, alias = "max-failure", requires = "waves")]
    max_failure_pct: Option<f64>,
    /// A halted rollout returns the cluster to the previous snapshot at once.
    #[arg(long, requires = "waves")]
    auto_rollback: bool,
}

#[derive(Debug, Args)]
struct RolloutArgs {
    /// show, or what to do: pause, resume, abort (back to the previous snapshot), promote (every wave now).
    #[arg(value_enum)]
    action: RolloutAction,
    /// The cluster.
    cluster: String,
    /// Why: recorded in the audit log with your token's actor (every action but `show`).
    #[arg(long, required_if_eq_any([("action", "pause"), ("action", "resume"), ("action", "abort"), ("action", "promote")]))]
    reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RolloutAction {
    #[value(alias = "status")]
    Show,
    Pause,
    Resume,
    Abort,
    Promote,
}

impl RolloutAction {
    /// The action's name in the API's path, and what it did.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            RolloutAction::Show => ("show", "shows"),
            RolloutAction::Pause => ("pause", "paused"),
            RolloutAction::Resume => ("resume", "resumed"),
            RolloutAction::Abort => ("abort", "aborted"),
            RolloutAction::Promote => ("promote", "promoted"),
        }
    }
}

/// A duration (`60s`, `5m`, `1h 30m`, `250ms`) in milliseconds.
fn duration_ms(text: &str) -> Result<u64, String> {
    humantime::parse_duration(text)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .map_err(|e| format!("{text:?} is not a duration like 60s or 5m: {e}"))
}

#[derive(Debug, Args)]
struct NodesArgs {
    /// The cluster.
    #[arg(long)]
    cluster: String,
    /// Only nodes of this drift: aligned, needs_reconcile, upgrade_required, awaiting_sync.
    #[arg(long)]
    drift: Option<String>,
    /// Only nodes of this health: connected, stale, dormant, never.
    #[arg(long)]
    health: Option<String>,
    /// At most this many nodes.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Debug, Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["node", "cluster", "workspace", "fleet"])))]
struct ForceArgs {
    /// One node.
    #[arg(long)]
    node: Option<String>,
    /// Every node of a cluster.
    #[arg(long)]
    cluster: Option<String>,
    /// Every cluster of a workspace (admin).
    #[arg(long)]
    workspace: Option<String>,
    /// Every cluster of the fleet (admin).
    #[arg(long)]
    fleet: bool,
    /// Why: recorded in the audit log with your token's actor.
    #[arg(long, required = true)]
    reason: String,
}

#[derive(Debug, Args)]
struct AuditArgs {
    #[command(subcommand)]
    verify: Option<AuditCommand>,
    /// At most this many records.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Only these actions (comma-separated, e.g. `force_sync_node,global_overwrite`).
    #[arg(long)]
    action: Option<String>,
    /// Only records about this cluster (the cluster, its snapshots, its nodes).
    #[arg(long)]
    cluster: Option<String>,
    /// Only records about this node.
    #[arg(long)]
    node: Option<String>,
    /// Only records with this exact target (`node:N`, `cluster:C`, `workspace:W`, `fleet`).
    #[arg(long)]
    target: Option<String>,
    /// Only records made by this actor.
    #[arg(long)]
    actor: Option<String>,
    /// Only records at or after this moment; as `what-ran --at`.
    #[arg(long)]
    from: Option<String>,
    /// Only records at or before this moment; as `what-ran --at`.
    #[arg(long)]
    to: Option<String>,
    /// Records older than this sequence number (the `nextBefore` of the previous page).
    #[arg(long)]
    before: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum WorkspaceCommand {
    /// Create a workspace, or change its authority mode or minimum runtime version (admin; audited).
    Set {
        /// The workspace.
        workspace: String,
        /// authoritative, tighten_only or dev_override (also "Tighten-only", "Dev Override").
        #[arg(long)]
        mode: Option<String>,
        /// Runtimes below this version are upgrade_required.
        #[arg(long)]
        min_version: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Remove a node from its cluster (operator): it leaves the counts and its
    /// heartbeats are refused until it is enrolled again.
    Remove {
        /// The node.
        node: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the signed checkpoint, every tile and every entry offline.
    Verify {
        /// The verifier key to trust (`name+hex8+base64`), pinned out of band.
        #[arg(long, env = "FLEETGOV_VERIFIER_KEY", required_unless_present = "trust_server_key")]
        key: Option<String>,
        /// Trust the key the server names (first use only: pin it afterwards).
        #[arg(long)]
        trust_server_key: bool,
    },
}

/// Runs fleetctl with `args` (the program name first), writing to `out`.
pub fn run<I, T>(args: I, out: &mut impl Write) -> Result<(), CtlError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            return write!(out, "{e}").map_err(io);
        }
        Err(e) => return Err(CtlError::Usage(e.to_string())),
    };
    let client = Client::new(&cli.server, cli.token.clone());
    let text = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    let printed = match (&cli.command, cli.output) {
        (Command::Completions { shell }, _) => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "fleetctl", &mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        }
        (Command::Audit(AuditArgs { verify: Some(AuditCommand::Verify { key, trust_server_key }), .. }), output) => {
            let key = match (key, trust_server_key) {
                (Some(key), _) => key.clone(),
                (None, _) => {
                    let named = client.get("/api/v1/checkpoint")?;
                    named["verifierKey"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| CtlError::Transport("the server names no verifier key".into()))?
                }
            };
            let v = verify::audit_log(&client, &key)?;
            match output {
                Output::Json => {
                    text(&json!({"verified": true, "origin": v.origin, "size": v.size, "root": v.root, "key": key}))
                }
                Output::Table => format!(
                    "verified: {} records of {} up to root {} (checkpoint signature, every tile, every entry), key {key}\n",
                    v.size, v.origin, v.root
                ),
            }
        }
        (command, output) => {
            let value = fetch(&client, command)?;
            match output {
                Output::Json => text(&value),
                Output::Table => render(command, &value),
            }
        }
    };
    out.write_all(printed.as_bytes()).map_err(io)
}

fn io(e: std::io::Error) -> CtlError {
    CtlError::Transport(format!("cannot write the output: {e}"))
}

/// The server's answer to `command`.
fn fetch(client: &Client, command: &Command) -> Result<Value, CtlError> {
    match command {
        Command::Status => {
            // Each cluster with its rollout's state, if it ever had one.
            let mut clusters = client.get("/api/v1/clusters")?;
            if let Some(list) = clusters["clusters"].as_array_mut() {
                for c in list {
                    let path = format!("/api/v1/clusters/{}/rollout", encode(&s(&c["id"])));
                    c["rollout"] = match client.get(&path) {
                        Ok(rollout) => rollout,
                        Err(CtlError::Api { status: 404, .. }) => Value::Null,
                        Err(e) => return Err(e),
                    };
                }
            }
            Ok(clusters)
        }
        Command::Nodes(a) => {
            let mut path = format!("/api/v1/clusters/{}/nodes?limit={}", encode(&a.cluster), a.limit);
            for (key, value) in [("drift", &a.drift), ("health", &a.health)] {
                if let Some(v) = value {
                    path.push_str(&format!("&{key}={}", encode(v)));
                }
            }
            client.get(&path)
        }
        Command::Publish(a) => {
            let bytes = std::fs::read(&a.file)
                .map_err(|e| CtlError::Usage(format!("cannot read {}: {e}", a.file.display())))?;
            let path = format!("/api/v1/clusters/{}/snapshots", encode(&a.cluster));
            let Some(waves) = &a.waves else { return client.post_bytes(&path, &bytes) };
            // A plan travels in the JSON body, beside the configuration as text.
            let content = String::from_utf8(bytes).map_err(|_| {
                CtlError::Usage(format!("{} is not UTF-8 text: only text can be rolled out in waves", a.file.display()))
            })?;
            let rollout = json!({
                "waves": waves,
                "bakeMs": a.bake.unwrap_or(0),
                "maxFailurePct": a.max_failure_pct.unwrap_or(0.0),
                "autoRollback": a.auto_rollback,
            });
            client.post(&path, &json!({"content": content, "rollout": rollout}))
        }
        Command::Rollout(a) => {
            let path = format!("/api/v1/clusters/{}/rollout", encode(&a.cluster));
            match (a.action, &a.reason) {
                (RolloutAction::Show, None) => client.get(&path),
                (RolloutAction::Show, Some(_)) => Err(CtlError::Usage("rollout show takes no --reason".into())),
                (action, reason) => {
                    let reason = reason.as_deref().unwrap_or_default();
                    client.post(&format!("{path}/{}", action.words().0), &json!({"reason": reason}))
                }
            }
        }
        Command::ForceSync(a) => {
            let target = match (&a.node, &a.cluster, &a.workspace) {
                (Some(n), _, _) => json!({"node": n}),
                (_, Some(c), _) => json!({"cluster": c}),
                (_, _, Some(w)) => json!({"workspace": w}),
                _ => json!({"fleet": true}),
            };
            client.post("/api/v1/force-sync", &json!({"target": target, "reason": a.reason}))
        }
        Command::WhatRan { node, at } => {
            client.get(&format!("/api/v1/nodes/{}/what-ran?at={}", encode(node), moment(at)?))
        }
        Command::History { node, from, to } => {
            let mut path = format!("/api/v1/nodes/{}/history?", encode(node));
            if let Some(from) = from {
                path.push_str(&format!("from={}&", moment(from)?));
            }
            if let Some(to) = to {
                path.push_str(&format!("to={}", moment(to)?));
            }
            client.get(path.trim_end_matches(['&', '?']))
        }
        Command::Audit(a) => {
            let mut path = format!("/api/v1/audit?limit={}", a.limit);
            let texts = [
                ("action", &a.action),
                ("cluster", &a.cluster),
                ("node", &a.node),
                ("target", &a.target),
                ("actor", &a.actor),
            ];
            for (key, value) in texts {
                if let Some(v) = value {
                    path.push_str(&format!("&{key}={}", encode(v)));
                }
            }
            for (key, value) in [("from", &a.from), ("to", &a.to)] {
                if let Some(v) = value {
                    path.push_str(&format!("&{key}={}", moment(v)?));
                }
            }
            if let Some(before) = a.before {
                path.push_str(&format!("&before={before}"));
            }
            client.get(&path)
        }
        Command::Node(NodeCommand::Remove { node }) => client.delete(&format!("/api/v1/nodes/{}", encode(node))),
        Command::Workspace(WorkspaceCommand::Set { workspace, mode, min_version }) => {
            let mut body = serde_json::Map::new();
            for (key, value) in [("authorityMode", mode), ("minRuntimeVersion", min_version)] {
                if let Some(v) = value {
                    body.insert(key.to_owned(), v.clone().into());
                }
            }
            client.put(&format!("/api/v1/workspaces/{}", encode(workspace)), &Value::Object(body))
        }
        Command::Completions { .. } => Ok(Value::Null),
    }
}

/// A moment as unix milliseconds: digits, RFC 3339, or `now`.
fn moment(text: &str) -> Result<u64, CtlError> {
    if text == "now" {
        return Ok(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64));
    }
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .ok_or_else(|| CtlError::Usage(format!("{text:?} is not a moment: give unix milliseconds, RFC 3339 or `now`")))
}

/// Percent-encodes the few characters an id or a value may hold that a URL path or query does not take.
fn encode(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '~' | ',' => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect()
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Two decimals below 100 %, from basis points.
fn percent(bp: &Value) -> String {
    match bp.as_u64() {
        Some(10_000) => "100%".to_owned(),
        Some(bp) => format!("{}.{:02}%", bp / 100, bp % 100),
        None => "—".to_owned(),
    }
}

/// Unix milliseconds as RFC 3339 (UTC, milliseconds).
fn time(ms: &Value) -> String {
    ms.as_u64().map_or_else(
        || "—".to_owned(),
        |ms| humantime::format_rfc3339_millis(UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string(),
    )
}

fn short(hash: &Value) -> String {
    hash.as_str().map_or_else(|| "—".to_owned(), |h| h.chars().take(12).collect())
}

/// A rollout for people: where it stands, then one line per wave.
fn rollout(v: &Value) -> String {
    let waves = v["perWave"].as_array().map_or(0, Vec::len);
    let wave = v["wave"].as_u64().map_or_else(|| "—".to_owned(), |w| (w + 1).to_string());
    let mut out = format!(
        "rollout of {}: {} -> {}\nstate: {} (wave {wave} of {waves}) since {}\n\
         on target: {}/{} nodes of started waves; failures: {} (budget {}, {}%)\n",
        s(&v["cluster"]),
        s(&v["previousSnapshot"]),
        s(&v["targetSnapshot"]),
        s(&v["state"]),
        time(&v["sinceMs"]),
        s(&v["onTarget"]),
        s(&v["nodesStarted"]),
        s(&v["failures"]),
        s(&v["failureBudget"]),
        s(&v["maxFailurePct"]),
    );
    let bake = v["bakeMs"].as_u64().map_or_else(
        || "—".to_owned(),
        |ms| humantime::format_duration(std::time::Duration::from_millis(ms)).to_string(),
    );
    match v["bakeEndsMs"].is_u64() {
        true => out.push_str(&format!("bake: {bake}, ends {}\n", time(&v["bakeEndsMs"]))),
        false => out.push_str(&format!("bake: {bake}\n")),
    }
    if v["reason"].is_string() {
        out.push_str(&format!("reason: {}\n", s(&v["reason"])));
    }
    let rows: Vec<Vec<String>> = v["perWave"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, w)| {
            vec![
                (i + 1).to_string(),
                format!("{}%", s(&w["percent"])),
                s(&w["nodes"]),
                s(&w["onTarget"]),
                s(&w["failures"]),
                time(&w["startedMs"]),
            ]
        })
        .collect();
    out.push_str(&table::render(&["WAVE", "PERCENT", "NODES", "ON TARGET", "FAILURES", "STARTED"], &rows));
    out
}

/// The human table of `command`'s answer.
fn render(command: &Command, v: &Value) -> String {
    let rows = |items: &Value, f: &dyn Fn(&Value) -> Vec<String>| -> Vec<Vec<String>> {
        items.as_array().map_or_else(Vec::new, |a| a.iter().map(f).collect())
    };
    match command {
        Command::Status => table::render(
            &["CLUSTER", "WORKSPACE", "STATUS", "COHESION", "VERIFIED", "DESIRED", "ROLLOUT"],
            &rows(&v["clusters"], &|c| {
                let r = &c["rollout"];
                let rollout = match r["state"].as_str() {
                    Some(state) => {
                        let waves = r["waves"].as_array().map_or(0, Vec::len);
                        format!("{state} {}/{waves}", r["wave"].as_u64().map_or(0, |w| w + 1))
                    }
                    None => "-".to_owned(),
                };
                vec![
                    s(&c["id"]),
                    s(&c["workspace"]),
                    s(&c["status"]),
                    percent(&c["cohesionBasisPoints"]),
                    format!("{}/{}", s(&c["inSync"]), s(&c["total"])),
                    s(&c["desiredSnapshot"]),
                    rollout,
                ]
            }),
        ),
        Command::Nodes(_) => table::render(
            &["NODE", "CONFIG", "VERIFIED", "HEALTH", "DRIFT", "APPLIED", "HASH", "VERSION", "AGE", "REASON"],
            &rows(&v["nodes"], &|n| {
                vec![
                    s(&n["id"]),
                    s(&n["configStatus"]),
                    s(&n["verified"]),
                    s(&n["health"]),
                    s(&n["drift"]),
                    s(&n["appliedSnapshotId"]),
                    short(&n["appliedHash"]),
                    s(&n["runtimeVersion"]),
                    n["heartbeatAgeMs"].as_u64().map_or_else(|| "—".to_owned(), |ms| format!("{}s", ms / 1000)),
                    s(&n["reconcileReason"]),
                ]
            }),
        ),
        Command::Publish(PublishArgs { waves: None, .. }) => {
            format!("published {} ({}), now desired\n", s(&v["id"]), s(&v["hash"]))
        }
        Command::Publish(PublishArgs { waves: Some(waves), .. }) => {
            let waves: Vec<String> = waves.iter().map(|w| format!("{w}%")).collect();
            format!("published {} ({}), rolling out in waves {}\n", s(&v["id"]), s(&v["hash"]), waves.join(", "))
        }
        Command::Rollout(a) => match a.action {
            RolloutAction::Show => rollout(v),
            action => format!("{} the rollout of {}\n{}", action.words().1, a.cluster, rollout(v)),
        },
        Command::ForceSync(_) => format!("forced: audit record {} ({})\n", s(&v["seq"]), s(&v["action"])),
        Command::WhatRan { node, .. } => {
            format!("{node} ran {} (hash {}) since {}\n", s(&v["snapshot"]), s(&v["hash"]), time(&v["sinceMs"]))
        }
        Command::History { .. } => table::render(
            &["AT", "SNAPSHOT", "HASH", "VERIFIED"],
            &rows(&v["changes"], &|c| vec![time(&c["atMs"]), s(&c["snapshot"]), short(&c["hash"]), s(&c["verified"])]),
        ),
        Command::Audit(_) => table::render(
            &["SEQ", "TIME", "ACTOR", "ROLE", "ACTION", "TARGET", "JUSTIFICATION"],
            &rows(&v["records"], &|r| {
                vec![
                    s(&r["seq"]),
                    time(&r["timeMs"]),
                    s(&r["actor"]),
                    s(&r["role"]),
                    s(&r["action"]),
                    s(&r["target"]),
                    s(&r["justification"]),
                ]
            }),
        ),
        Command::Node(NodeCommand::Remove { node }) => {
            format!("removed {node}: audit record {} ({})\n", s(&v["seq"]), s(&v["action"]))
        }
        Command::Workspace(_) => format!(
            "workspace {}: {}, minimum runtime version {}\n",
            s(&v["id"]),
            s(&v["authorityMode"]),
            s(&v["minRuntimeVersion"])
        ),
        Command::Completions { .. } => String::new(),
    }
}
