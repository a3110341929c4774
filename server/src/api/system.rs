//! Operational endpoints: Prometheus metrics, the OpenAPI document, the
//! demo tokens the dashboard offers, and making history durable on demand.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use fleetgov::Role;
use serde::Serialize;

use super::blocking;
use crate::auth::{DemoToken, Principal, Scope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The OpenAPI document of the API.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /metrics`: Prometheus text exposition. A scrape covers the whole
/// fleet, so only a token whose scope is every workspace (`"*"`) may scrape.
pub async fn metrics(State(state): State<AppState>, who: Principal) -> impl IntoResponse {
    if let Err(e) = who.require_every_workspace("scraping /metrics") {
        return e.into_response();
    }
    let text = tokio::task::spawn_blocking(move || state.metrics.render()).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text)
        .into_response()
}

/// `GET /api/v1/openapi.json` (no token): the OpenAPI 3.1 document.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI)
}

/// `GET /api/v1/demo-tokens` (no token): the tokens the configuration marks
/// `demo` (public by definition), for the dashboard's token picker; 404
/// unless the configuration says `demo = true`.
pub async fn demo_tokens(State(state): State<AppState>) -> ApiResult<Json<Vec<DemoToken>>> {
    match state.tokens.demo() {
        Some(tokens) => Ok(Json(tokens.to_vec())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "no demo tokens: the configuration does not say demo = true",
        )),
    }
}

/// Who a token stands for: `GET /api/v1/whoami`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// The actor the audit log records.
    actor: String,
    /// viewer, operator or admin.
    role: Role,
    /// The workspaces it may see; `["*"]` for every one.
    workspaces: Vec<String>,
}

/// `GET /api/v1/whoami`: the presented token's actor, role and workspaces,
/// so that a client (the dashboard) offers only the controls the role may use.
pub async fn whoami(who: Principal) -> Json<WhoAmI> {
    let workspaces = match who.scope {
        Scope::All => vec!["*".to_owned()],
        Scope::Only(set) => set.into_iter().collect(),
    };
    Json(WhoAmI { actor: who.actor, role: who.role, workspaces })
}

/// The answer to `POST /api/v1/admin/sync`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Synced {
    /// Whether the server keeps a data directory; `false`: it is
    /// ephemeral, and nothing survives a restart.
    durable: bool,
    /// Everything acknowledged before this moment (unix ms) is on disk.
    at_ms: u64,
}

/// `POST /api/v1/admin/sync` (admin of every workspace): returns once every
/// applied-state transition acknowledged so far, and every node's last
/// report (heartbeat time, metrics, status), is on disk in the data
/// directory. The journal writer does this by itself every 200 ms (a crash
/// loses at most that interval's transitions; authority changes, overrides
/// and enrolments are on disk before they are acknowledged); call it
/// before a planned kill, or to make a report part of the durable history
/// now. 503 `IO` when the data directory cannot be written.
pub async fn sync(State(state): State<AppState>, who: Principal) -> ApiResult<Json<Synced>> {
    who.require(Role::Admin)?;
    who.require_every_workspace("syncing the server's data directory")?;
    let at_ms = state.now_ms();
    let durable = state.engine.data_dir().is_some();
    let engine = state.engine.clone();
    blocking(move || Ok(engine.checkpoint_nodes()?)).await?;
    Ok(Json(Synced { durable, at_ms }))
}
