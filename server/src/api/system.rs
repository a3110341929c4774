//! Operational endpoints: Prometheus metrics, the OpenAPI document and the
//! demo tokens the dashboard offers.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use crate::auth::{DemoToken, Principal};
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
