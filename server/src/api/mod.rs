//! The HTTP API under `/api/v1`, as one table of endpoints. The router is
//! built from the table and the OpenAPI document is checked against it by the
//! tests, so neither can list an endpoint the other lacks.

use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

mod clusters;
mod events;
mod governance;
mod heartbeats;
mod history;
mod log;
mod node_sort;
mod nodes;
mod policies;
mod rollouts;
mod snapshots;
mod system;
mod visible;
mod workspaces;

pub use heartbeats::{DirectiveJson, HeartbeatJson};

/// One endpoint: its method, its path (axum syntax, `{param}`) and its handler.
pub struct Endpoint {
    /// The HTTP method.
    pub method: Method,
    /// The path template.
    pub path: &'static str,
    route: MethodRouter<AppState>,
}

fn ep<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    Endpoint { method, path, route: on(filter, handler) }
}

/// Every endpoint of the API.
///
/// ```
/// let eps = fleetgov_server::api::endpoints();
/// assert!(eps.iter().any(|e| e.method == "GET" && e.path == "/api/v1/clusters/{id}"));
/// ```
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        ep(Method::GET, "/api/v1/workspaces", workspaces::list),
        ep(Method::GET, "/api/v1/workspaces/{id}", workspaces::get),
        ep(Method::PUT, "/api/v1/workspaces/{id}", workspaces::put),
        ep(Method::GET, "/api/v1/workspaces/{id}/fleet", workspaces::fleet),
        ep(Method::GET, "/api/v1/workspaces/{id}/fleet/config", workspaces::fleet_config),
        ep(Method::GET, "/api/v1/workspaces/{id}/fleet/policies", workspaces::fleet_policies),
        ep(Method::PUT, "/api/v1/policies/{id}", policies::put),
        ep(Method::DELETE, "/api/v1/policies/{id}", policies::remove),
        ep(Method::GET, "/api/v1/clusters", clusters::list),
        ep(Method::GET, "/api/v1/clusters/{id}", clusters::get),
        ep(Method::PUT, "/api/v1/clusters/{id}", clusters::upsert),
        ep(Method::GET, "/api/v1/clusters/{id}/nodes", nodes::list),
        ep(Method::POST, "/api/v1/clusters/{id}/nodes", nodes::enroll),
        ep(Method::POST, "/api/v1/clusters/{id}/snapshots", snapshots::publish),
        ep(Method::GET, "/api/v1/clusters/{id}/rollout", rollouts::get),
        ep(Method::POST, "/api/v1/clusters/{id}/rollout/{action}", rollouts::action),
        ep(Method::GET, "/api/v1/nodes/{id}", nodes::get),
        ep(Method::DELETE, "/api/v1/nodes/{id}", nodes::remove),
        ep(Method::GET, "/api/v1/nodes/{id}/history", history::history),
        ep(Method::GET, "/api/v1/nodes/{id}/what-ran", history::what_ran),
        ep(Method::GET, "/api/v1/snapshots/{id}", snapshots::get),
        ep(Method::GET, "/api/v1/artifacts/{hash}", snapshots::artifact),
        ep(Method::POST, "/api/v1/heartbeats", heartbeats::post),
        ep(Method::POST, "/api/v1/force-sync", governance::force_sync),
        ep(Method::GET, "/api/v1/audit", governance::list),
        ep(Method::GET, "/api/v1/audit/{seq}/proof", governance::proof),
        ep(Method::GET, "/api/v1/audit/consistency", log::consistency),
        ep(Method::GET, "/api/v1/checkpoint", governance::checkpoint),
        ep(Method::GET, "/api/v1/attestations", governance::attestation),
        ep(Method::GET, "/api/v1/events", events::stream),
        ep(Method::POST, "/api/v1/admin/sync", system::sync),
        ep(Method::GET, "/api/v1/demo-tokens", system::demo_tokens),
        ep(Method::GET, "/api/v1/whoami", system::whoami),
        ep(Method::GET, "/api/v1/openapi.json", system::openapi),
        ep(Method::GET, "/metrics", system::metrics),
    ]
}

/// The router of every endpoint and of the C2SP log under `/log/`, with a
/// JSON 404 for any other path.
pub fn router() -> Router<AppState> {
    endpoints()
        .into_iter()
        .fold(Router::new(), |router, e| router.route(e.path, e.route))
        .merge(log::router())
        .fallback(no_route)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no route for {method} {}", uri.path()))
}

/// Runs `work` on the blocking pool: engine calls that may wait for the
/// data directory (an audit append or an enrolment is fsynced before it is
/// acknowledged) or walk a long history, so that no request waits behind
/// them on a runtime thread.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string()))?
}

/// A page size: `default` when absent, else 1 to `max`.
pub(crate) fn page_limit(limit: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(format!("limit must be from 1 to {max}"))),
    }
}
