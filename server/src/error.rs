//! The API's one error shape: `{"error": {"code": "...", "message": "..."}}`
//! with the HTTP status its code implies.
//!
//! Engine errors map by [`ErrorKind`]; the framework's own rejections (bad
//! JSON, wrong content type, an oversized body, an unknown route) are turned
//! into the same shape by [`json_errors`], so every error a client sees is
//! JSON with a machine code.

use axum::body::to_bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fleetgov::ErrorKind;
use serde::Serialize;

/// An API error: an HTTP status, a stable upper-snake-case code and a message.
///
/// ```
/// use fleetgov_server::ApiError;
/// let e = ApiError::from(fleetgov::Error::not_found("cluster 'x'"));
/// assert_eq!((e.status().as_u16(), e.code()), (404, "NOT_FOUND"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// `Result` of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    /// 400 `INVALID_INPUT`.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_INPUT", message)
    }

    /// 401 `UNAUTHENTICATED`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }

    /// 403 `PERMISSION_DENIED`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "PERMISSION_DENIED", message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body of this error.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody { error: ErrorDetail { code: self.code, message: &self.message } }
    }
}

/// The JSON body of an error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error.
    pub error: ErrorDetail<'a>,
}

/// Code and message of an error response.
#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    /// Stable machine code, e.g. `NOT_FOUND`.
    pub code: &'a str,
    /// Human message.
    pub message: &'a str,
}

/// The HTTP status of an engine error kind.
///
/// A question about a time after the server's clock (`FUTURE`) is a bad
/// request: nothing is known, or signed, about the future. A time before
/// the history the server retains (`HISTORY_UNAVAILABLE`) is 410 Gone: the
/// resource exists, but not for that moment, and asking again will not
/// bring it back (404 stays the answer for an unknown id).
///
/// ```
/// use fleetgov::{Error, ErrorKind};
/// use fleetgov_server::ApiError;
/// let status = |kind| ApiError::from(Error::new(kind, "at 0 ms")).status().as_u16();
/// assert_eq!((status(ErrorKind::Future), status(ErrorKind::HistoryUnavailable)), (400, 410));
/// ```
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::JustificationRequired | ErrorKind::FutureHeartbeat | ErrorKind::Future => {
            StatusCode::BAD_REQUEST
        }
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::HistoryUnavailable => StatusCode::GONE,
        ErrorKind::Conflict | ErrorKind::StaleHeartbeat => StatusCode::CONFLICT,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Io => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<fleetgov::Error> for ApiError {
    fn from(e: fleetgov::Error) -> Self {
        ApiError::new(status_of(e.kind()), e.kind().code(), e.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// The code for a status the framework produced on its own.
fn code_of_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "INVALID_INPUT",
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        StatusCode::FORBIDDEN => "PERMISSION_DENIED",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        s if s.is_server_error() => "INTERNAL",
        _ => "ERROR",
    }
}

/// The longest framework error text kept as a message.
const MAX_FRAMEWORK_MESSAGE: usize = 4096;

/// Middleware body: an error response that is not JSON yet (the framework's
/// own rejections, the body-limit layer, the 404 fallback) becomes the API's
/// JSON error, keeping the framework's text as the message. A 422 (valid JSON
/// of the wrong shape) is reported as 400 `INVALID_INPUT`, like malformed JSON.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match to_bytes(body, MAX_FRAMEWORK_MESSAGE).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { status };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
    let error = ApiError::new(status, code_of_status(status), message);
    let mut out = error.into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    out
}
