//! Lease renewal: a task of its own, independent of the instance's worker.
//!
//! Every tick the task renews every lease held ([`crate::held`]) with
//! `update(key, id, last revision)`, all at once, each waiting no longer
//! than its deadline allows (and at most the safety margin). A stored
//! renewal moves the lease's deadline and its fence; a refused one (someone
//! else wrote the key, or it expired) ends the lease at once; any other
//! failure leaves the deadline where it was. At each deadline, and after
//! each round, the task ends the leases past theirs. Whenever it ends a
//! lease it tells the worker, which stops serving the partition.
//!
//! So a worker busy for any length of time (engine work, a NATS operation
//! that waits out its timeout, one after another) keeps its leases, while
//! a renewal that cannot reach NATS still lets them lapse at their
//! deadlines: what an instance may write on behalf of a partition is
//! checked against the lease as this task keeps it, when it writes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use bytes::Bytes;
use futures_util::future::join_all;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::error::Error;
use crate::held::{Due, HeldLeases, Renewed};
use crate::lease::safety_margin;
use crate::subject::partition_key;

/// The renewal task of an instance's leases; aborted when dropped (the
/// instance's worker ended, gracefully or killed).
pub(crate) struct Renewal(JoinHandle<()>);

impl Renewal {
    /// Starts renewing the leases of `held` in the lease bucket `store` as
    /// instance `id`, every `tick`.
    pub(crate) fn spawn(held: Arc<HeldLeases>, store: kv::Store, id: String, ttl: Duration, tick: Duration) -> Renewal {
        Renewal(tokio::spawn(run(held, store, Bytes::from(id), safety_margin(ttl), tick)))
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(held: Arc<HeldLeases>, store: kv::Store, id: Bytes, limit: Duration, tick: Duration) {
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let deadline = held.next_deadline().map(tokio::time::Instant::from_std);
        let ended = tokio::select! {
            _ = ticks.tick() => renew(&held, &store, &id, limit).await,
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => false,
        };
        if held.expire() || ended {
            held.tell_ended();
        }
    }
}

/// Renews every lease held at once, in the writer's turn; returns whether
/// a lease was lost.
async fn renew(held: &HeldLeases, store: &kv::Store, id: &Bytes, limit: Duration) -> bool {
    let _turn = held.writing().await;
    let due = held.due();
    if due.is_empty() {
        return false;
    }
    let renewals = due.into_iter().map(|due| renew_one(store, id.clone(), due, limit));
    held.renewed(join_all(renewals).await)
}

/// Renews one lease, waiting no longer than its deadline allows, nor than `limit`.
async fn renew_one(store: &kv::Store, id: Bytes, due: Due, limit: Duration) -> (Due, Instant, Renewed) {
    let sent = Instant::now();
    let wait = due.serve_until.saturating_duration_since(sent).min(limit);
    let what = || format!("renew lease p{}", due.partition);
    let outcome = match tokio::time::timeout(wait, store.update(partition_key(due.partition), id, due.revision)).await {
        Ok(Ok(revision)) => Renewed::At(revision),
        Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Renewed::Lost,
        Ok(Err(e)) => Renewed::Failed(Error::retryable(what(), e)),
        Err(e) => Renewed::Failed(Error::retryable(what(), e)),
    };
    (due, sent, outcome)
}
