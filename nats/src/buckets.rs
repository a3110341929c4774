//! Opening (creating on first use) the protocol's JetStream KV buckets.
//!
//! A KV bucket is a stream laid out by the NATS key-value convention: stream
//! `KV_<bucket>` on subjects `$KV.<bucket>.>`, one message per subject kept,
//! rollups allowed, deletes denied, direct gets allowed, new messages
//! discarded when full. The stream is created here directly (the client's
//! own bucket creation first reads account fields that 2.9 servers do not
//! send), then opened as a bucket.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;
use futures_util::TryStreamExt;
use futures_util::future::join_all;

use crate::error::{Error, Result};

/// The KV bucket `name` with one value per key, whose entries expire after
/// `max_age` (`Duration::ZERO`: never). Instances with the same settings may
/// open it concurrently; a bucket made with other settings (another lease
/// TTL) is used as it is.
pub(crate) async fn key_value(
    js: &jetstream::Context,
    name: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<kv::Store> {
    let config = stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age,
        num_replicas: replicas,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..stream::Config::default()
    };
    let created = js.create_stream(config).await.err();
    js.get_key_value(name).await.map_err(|open| match created {
        Some(create) => Error::transport(format!("create KV bucket {name}"), create),
        None => Error::transport(format!("open KV bucket {name}"), open),
    })
}

/// Every key of `store` with its value (a key deleted or expired between
/// the listing and the read is left out), the values read at once.
pub(crate) async fn read_all(store: &kv::Store) -> std::result::Result<Vec<(String, Bytes)>, async_nats::Error> {
    let keys: Vec<String> = store.keys().await?.try_collect().await?;
    let values = join_all(keys.iter().map(|key| store.get(key))).await;
    let mut out = Vec::with_capacity(keys.len());
    for (key, value) in keys.into_iter().zip(values) {
        if let Some(value) = value? {
            out.push((key, value));
        }
    }
    Ok(out)
}

/// The owner of every leased partition of the lease bucket `store`.
pub(crate) async fn read_owners(store: &kv::Store) -> std::result::Result<BTreeMap<u32, String>, async_nats::Error> {
    Ok(read_all(store)
        .await?
        .into_iter()
        .filter_map(|(key, owner)| {
            let partition = key.strip_prefix('p')?.parse::<u32>().ok()?;
            Some((partition, String::from_utf8_lossy(&owner).into_owned()))
        })
        .collect())
}
