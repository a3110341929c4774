//! `GET /api/v1/events`: Server-Sent Events of fleet transitions.

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use fleetgov::ContentHash;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Browsers' `EventSource` cannot send headers, so this one endpoint also
/// takes the token as `?access_token=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    access_token: Option<String>,
}

/// The presented secret: the bearer header, else `?access_token=`.
fn secret<'a>(headers: &'a HeaderMap, query: &'a EventsQuery) -> ApiResult<&'a str> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
        return match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
            _ => Err(ApiError::unauthenticated("the Authorization header must read 'Bearer <token>'")),
        };
    }
    query
        .access_token
        .as_deref()
        .ok_or_else(|| ApiError::unauthenticated("missing bearer token (header, or ?access_token= for EventSource)"))
}

/// The stream: a `ready` event first, then `cluster`, `node`, `nodes`,
/// `audit` and `rollout` events of the workspaces the token may see (JSON data; see
/// [`FleetEvent`](crate::events::FleetEvent)), and `lagged` if this client or
/// the server fell too far behind and missed some (reload the views then). 429
/// `TOO_MANY_STREAMS` when the token already holds as many streams as the
/// configuration allows; a stream's slot is freed when its client goes away.
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let secret = secret(&headers, &query)?;
    let who = state.tokens.authenticate(secret)?;
    let slot = state.streams.acquire(ContentHash::of(secret.as_bytes())).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_STREAMS",
            "this token holds as many event streams as the server allows; close one first",
        )
    })?;
    let rx = state.events.subscribe();
    let ready = Event::default().event("ready").data(serde_json::json!({ "actor": who.actor }).to_string());
    // The slot lives in the stream's state: it is freed when the stream is dropped.
    let events = stream::unfold((rx, who, slot), |(mut rx, who, slot)| async move {
        loop {
            match rx.recv().await {
                Ok(event) if event.visible_to(&who.scope) => {
                    return Some((Ok(Event::default().event(event.name()).data(event.data())), (rx, who, slot)));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    return Some((Ok(Event::default().event("lagged").data(missed.to_string())), (rx, who, slot)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream::once(async { Ok(ready) }).chain(events)).keep_alive(KeepAlive::default()))
}
