//! The HTTP side: one blocking client for a fleet server, with its errors.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

/// Why a command failed.
#[derive(Debug)]
pub enum CtlError {
    /// The server answered with an error: its status, code and message.
    Api { status: u16, code: String, message: String },
    /// The server could not be reached, or answered something that is not the API.
    Transport(String),
    /// An argument is wrong (a time that does not parse, a file that cannot be read).
    Usage(String),
    /// A proof, tile or checkpoint did not verify.
    Verification(String),
}

impl CtlError {
    /// The process exit code: 1 for the server's refusals, 2 for usage and
    /// transport problems, 3 when something did not verify.
    pub fn exit_code(&self) -> i32 {
        match self {
            CtlError::Api { .. } => 1,
            CtlError::Transport(_) | CtlError::Usage(_) => 2,
            CtlError::Verification(_) => 3,
        }
    }
}

impl fmt::Display for CtlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CtlError::Api { status, code, message } => write!(f, "{code} ({status}): {message}"),
            CtlError::Transport(m) => write!(f, "cannot talk to the server: {m}"),
            CtlError::Usage(m) => f.write_str(m),
            CtlError::Verification(m) => write!(f, "VERIFICATION FAILED: {m}"),
        }
    }
}

impl std::error::Error for CtlError {}

impl From<fleetgov::Error> for CtlError {
    fn from(e: fleetgov::Error) -> Self {
        CtlError::Verification(e.to_string())
    }
}

/// A fleet server and the token to use with it.
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, token: Option<String>) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build();
        Client { base: base.trim_end_matches('/').to_owned(), token, agent: config.into() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorised<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => request.header("authorization", format!("Bearer {t}")),
            None => request,
        }
    }

    /// GET `path` (with its query) as JSON.
    pub fn get(&self, path: &str) -> Result<Value, CtlError> {
        let response = self.authorised(self.agent.get(self.url(path))).call().map_err(transport)?;
        json(response)
    }

    /// GET `path` as bytes (tiles, checkpoints).
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>, CtlError> {
        let mut response = self.authorised(self.agent.get(self.url(path))).call().map_err(transport)?;
        if !response.status().is_success() {
            return Err(api_error(response));
        }
        response.body_mut().with_config().limit(64 << 20).read_to_vec().map_err(transport)
    }

    /// POST `body` as JSON to `path`.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, CtlError> {
        let response = self.authorised(self.agent.post(self.url(path))).send_json(body).map_err(transport)?;
        json(response)
    }

    /// PUT `body` as JSON to `path`.
    pub fn put(&self, path: &str, body: &Value) -> Result<Value, CtlError> {
        let response = self.authorised(self.agent.put(self.url(path))).send_json(body).map_err(transport)?;
        json(response)
    }

    /// DELETE `path`; the answer as JSON.
    pub fn delete(&self, path: &str) -> Result<Value, CtlError> {
        json(self.authorised(self.agent.delete(self.url(path))).call().map_err(transport)?)
    }

    /// POST raw bytes to `path`.
    pub fn post_bytes(&self, path: &str, bytes: &[u8]) -> Result<Value, CtlError> {
        let request =
            self.authorised(self.agent.post(self.url(path))).header("content-type", "application/octet-stream");
        json(request.send(bytes).map_err(transport)?)
    }
}

fn transport(e: ureq::Error) -> CtlError {
    CtlError::Transport(e.to_string())
}

fn json(mut response: ureq::http::Response<ureq::Body>) -> Result<Value, CtlError> {
    if !response.status().is_success() {
        return Err(api_error(response));
    }
    response.body_mut().read_json().map_err(transport)
}

fn api_error(mut response: ureq::http::Response<ureq::Body>) -> CtlError {
    let status = response.status().as_u16();
    let body: Value = response.body_mut().read_json().unwrap_or(Value::Null);
    let field = |k: &str| body["error"][k].as_str().map(str::to_owned);
    CtlError::Api {
        status,
        code: field("code").unwrap_or_else(|| "HTTP".to_owned()),
        message: field("message").unwrap_or_else(|| format!("the server answered {status}")),
    }
}
