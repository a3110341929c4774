//! Configuration artifacts in the JetStream object store, by hash.
//!
//! Object name = the 64-character lowercase hex blake3 hash of the bytes,
//! in bucket [`ARTIFACTS_BUCKET`]. Whoever fetches by hash verifies
//! the bytes against it and discards them on a mismatch.

use std::sync::Arc;

use async_nats::jetstream::{self, object_store};
use fleetgov::{ContentHash, Engine, Snapshot};
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result};
use crate::subject::ARTIFACTS_BUCKET;

/// The artifact store.
///
/// ```no_run
/// # async fn run(js: async_nats::jetstream::Context) -> fleetgov_nats::Result<()> {
/// let artifacts = fleetgov_nats::Artifacts::open(&js, 1).await?;
/// let hash = artifacts.put(b"routes: []").await?;
/// assert_eq!(artifacts.fetch(&hash).await?, b"routes: []");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Artifacts {
    store: object_store::ObjectStore,
}

impl Artifacts {
    /// Opens the store, creating the bucket with `replicas` copies on first
    /// use (1 on one server, 3 on a production cluster, like every stream
    /// and bucket of the fleet). An existing bucket is opened as it is,
    /// without asking to create it, so a client allowed only to read the
    /// store (a gateway, see the README's permissions) opens it too.
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<Artifacts> {
        if let Ok(store) = js.get_object_store(ARTIFACTS_BUCKET).await {
            return Ok(Artifacts { store });
        }
        let config =
            object_store::Config { bucket: ARTIFACTS_BUCKET.to_owned(), num_replicas: replicas, ..Default::default() };
        let store = match js.create_object_store(config).await {
            Ok(store) => store,
            // Created meanwhile by another client.
            Err(create) => js
                .get_object_store(ARTIFACTS_BUCKET)
                .await
                .map_err(|_| Error::transport("create the artifact store", create))?,
        };
        Ok(Artifacts { store })
    }

    /// Stores `bytes` under their hash (once: a stored artifact is not
    /// written again) and returns the hash.
    pub async fn put(&self, bytes: &[u8]) -> Result<ContentHash> {
        let hash = ContentHash::of(bytes);
        let name = hash.to_string();
        if self.store.info(&name).await.is_ok() {
            return Ok(hash);
        }
        let mut reader = bytes;
        self.store
            .put(name.as_str(), &mut reader)
            .await
            .map_err(|e| Error::transport(format!("put artifact {name}"), e))?;
        Ok(hash)
    }

    /// The bytes stored under `hash`, verified: bytes that do not hash to
    /// `hash` are discarded and the call fails with [`Error::HashMismatch`].
    /// A missing artifact is [`NotFound`](fleetgov::ErrorKind::NotFound).
    pub async fn fetch(&self, hash: &ContentHash) -> Result<Vec<u8>> {
        let name = hash.to_string();
        let mut object = self.store.get(&name).await.map_err(|e| match e.kind() {
            object_store::GetErrorKind::NotFound => {
                Error::Engine(fleetgov::Error::not_found(format_args!("artifact {name}")))
            }
            _ => Error::transport(format!("get artifact {name}"), e),
        })?;
        let mut bytes = Vec::new();
        object.read_to_end(&mut bytes).await.map_err(|e| Error::transport(format!("read artifact {name}"), e))?;
        verify(hash, bytes)
    }

    /// Stores `bytes` in the object store, then publishes them as the next
    /// snapshot of `cluster` (so an artifact a directive names is always
    /// there to fetch). The engine call runs on a blocking thread.
    ///
    /// ```no_run
    /// # async fn run(js: async_nats::jetstream::Context, engine: std::sync::Arc<fleetgov::Engine>) -> fleetgov_nats::Result<()> {
    /// let artifacts = fleetgov_nats::Artifacts::open(&js, 1).await?;
    /// let v2 = artifacts.publish(&engine, "eks-prod-us", b"rate_limit: 800", "alice", 1_700_000_000_000).await?;
    /// assert_eq!(artifacts.fetch(&v2.hash).await?, b"rate_limit: 800");
    /// # Ok(()) }
    /// ```
    pub async fn publish(
        &self,
        engine: &Arc<Engine>,
        cluster: &str,
        bytes: &[u8],
        author: &str,
        at_ms: u64,
    ) -> Result<Snapshot> {
        self.put(bytes).await?;
        let (engine, cluster, bytes, author) = (engine.clone(), cluster.to_owned(), bytes.to_vec(), author.to_owned());
        tokio::task::spawn_blocking(move || engine.publish(&cluster, &bytes, &author, at_ms))
            .await
            .map_err(|e| Error::transport("publish", e))?
            .map_err(Error::Engine)
    }
}

/// `bytes` if they hash to `expected`, else [`Error::HashMismatch`].
fn verify(expected: &ContentHash, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let computed = ContentHash::of(&bytes);
    if computed == *expected { Ok(bytes) } else { Err(Error::HashMismatch { expected: *expected, computed }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_refuses_other_bytes() {
        let hash = ContentHash::of(b"a");
        assert_eq!(verify(&hash, b"a".to_vec()).unwrap(), b"a");
        match verify(&hash, b"b".to_vec()) {
            Err(Error::HashMismatch { expected, computed }) => {
                assert_eq!((expected, computed), (hash, ContentHash::of(b"b")))
            }
            other => panic!("{other:?}"),
        }
    }
}
