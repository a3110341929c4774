//! Opening (creating on first use) the protocol's JetStream buckets.

use std::time::Duration;

use async_nats::jetstream::{self, kv};

use crate::error::{Error, Result};

/// The KV bucket `name` with one value per key, whose entries expire after
/// `max_age` (`Duration::ZERO`: never). Instances with the same settings may
/// open it concurrently.
pub(crate) async fn key_value(js: &jetstream::Context, name: &str, max_age: Duration) -> Result<kv::Store> {
    let config = kv::Config { bucket: name.to_owned(), history: 1, max_age, ..kv::Config::default() };
    match js.create_key_value(config).await {
        Ok(store) => Ok(store),
        // Made by another process with other settings (another lease TTL): use it as it is.
        Err(create) => {
            js.get_key_value(name).await.map_err(|_| Error::transport(format!("create KV bucket {name}"), create))
        }
    }
}
