//! Refusing a body over the limit so that the client reads the refusal.
//!
//! A server that answers 413 as soon as it sees a declared length over the
//! limit, and closes with the rest of the body unread, makes the client's
//! kernel reset the connection while the client is still sending — and the
//! client then sees a reset, not the JSON error. So a body whose declared
//! `Content-Length` is over the limit is read and discarded, up to
//! [`DRAIN_MAX`] bytes (under the request-body timeout), before the 413 is
//! sent; a larger one is still cut off. A body without a declared length is
//! limited as it streams by the body-limit layer inside this one.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::ApiError;

/// The most of a refused body that is read before the 413 is sent.
pub(crate) const DRAIN_MAX: u64 = 16 << 20;

/// Answers a request whose declared body is over `limit` bytes with 413,
/// after draining the body; passes every other request on.
pub(crate) async fn refuse(limit: usize, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let Some(declared) = declared.filter(|&n| n > limit as u64) else {
        return next.run(request).await;
    };
    if declared <= DRAIN_MAX {
        let mut body = request.into_body();
        let mut read = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            read += frame.data_ref().map_or(0, |d| d.len() as u64);
            if read > DRAIN_MAX {
                break;
            }
        }
    }
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("the request body is {declared} bytes; this server takes at most {limit}"),
    )
    .into_response()
}
