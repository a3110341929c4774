//! The dashboard pages, embedded in the binary: `/cluster` (the Cluster
//! Manager), `/nodes/{id}` (one node: what it runs, its timeline, its proof)
//! and `/dashboard/observe` (fleet rollout posture). Plain HTML, CSS
//! and JavaScript over the JSON API; no build step, no separate server.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

use crate::state::AppState;

/// An embedded file and its media type.
struct Asset {
    body: &'static str,
    media_type: &'static str,
}

const CLUSTER_HTML: Asset =
    Asset { body: include_str!("../assets/cluster.html"), media_type: "text/html; charset=utf-8" };
const NODE_HTML: Asset = Asset { body: include_str!("../assets/node.html"), media_type: "text/html; charset=utf-8" };
const OBSERVE_HTML: Asset =
    Asset { body: include_str!("../assets/observe.html"), media_type: "text/html; charset=utf-8" };
const STYLE_CSS: Asset = Asset { body: include_str!("../assets/style.css"), media_type: "text/css; charset=utf-8" };
const COMMON_JS: Asset =
    Asset { body: include_str!("../assets/common.js"), media_type: "text/javascript; charset=utf-8" };
const CLUSTER_JS: Asset =
    Asset { body: include_str!("../assets/cluster.js"), media_type: "text/javascript; charset=utf-8" };
const NODE_JS: Asset = Asset { body: include_str!("../assets/node.js"), media_type: "text/javascript; charset=utf-8" };
const FAVICON: Asset = Asset { body: include_str!("../assets/favicon.svg"), media_type: "image/svg+xml" };
const OBSERVE_JS: Asset =
    Asset { body: include_str!("../assets/observe.js"), media_type: "text/javascript; charset=utf-8" };

fn serve(asset: &'static Asset) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.media_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        asset.body,
    )
}

/// The dashboard routes; `/` leads to the Cluster Manager; `/favicon.ico`
/// is the dashboard's icon (SVG, which browsers take under that name too).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/cluster") }))
        .route("/cluster", get(|| async { serve(&CLUSTER_HTML) }))
        .route("/nodes/{id}", get(|| async { serve(&NODE_HTML) }))
        .route("/dashboard/observe", get(|| async { serve(&OBSERVE_HTML) }))
        .route("/assets/style.css", get(|| async { serve(&STYLE_CSS) }))
        .route("/assets/common.js", get(|| async { serve(&COMMON_JS) }))
        .route("/assets/cluster.js", get(|| async { serve(&CLUSTER_JS) }))
        .route("/assets/observe.js", get(|| async { serve(&OBSERVE_JS) }))
        .route("/assets/node.js", get(|| async { serve(&NODE_JS) }))
        .route("/favicon.ico", get(|| async { serve(&FAVICON) }))
}
