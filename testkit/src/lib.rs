//! Test support shared by fleetgov's integration suites (the server's and
//! the NATS scale-out's): one generous deadline and one way to wait for a
//! condition, so that a loaded machine makes a test slower, never red.
//!
//! A test never asserts how long something took. Where it must wait for
//! another process or task (a server coming up, a lease moving, a view
//! settling), it polls with [`eventually`], which gives up only after
//! [`deadline`] and then says what it waited for and what it saw last.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let mut polls = 0;
//! let seen = fleetgov_testkit::eventually("three polls", || {
//!     polls += 1;
//!     let now = polls;
//!     async move { if now >= 3 { Ok(now) } else { Err(format!("{now} polls")) } }
//! })
//! .await;
//! assert_eq!(seen, 3);
//! # });
//! ```

#![warn(missing_docs)]

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// The environment variable that overrides [`deadline`], in whole seconds.
pub const DEADLINE_VAR: &str = "FLEETGOV_TEST_DEADLINE_S";

/// How often [`eventually`] polls.
pub const POLL: Duration = Duration::from_millis(100);

/// How long a test waits for a condition before it fails: 120 s, or
/// `FLEETGOV_TEST_DEADLINE_S` seconds. Far beyond what any wait takes on an
/// idle machine, so that only a real hang fails a test.
pub fn deadline() -> Duration {
    std::env::var(DEADLINE_VAR).ok().and_then(|s| s.parse().ok()).map_or(Duration::from_secs(120), Duration::from_secs)
}

/// Polls `probe` every [`POLL`] until it returns `Ok`, and returns that value.
///
/// `probe` answers `Err(what it saw)` while the condition does not hold.
///
/// # Panics
///
/// When [`deadline`] passes first: the message names `what` was awaited, how
/// long, and the probe's last answer.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let limit = deadline();
    let started = Instant::now();
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if started.elapsed() > limit => {
                panic!("gave up after {limit:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// [`eventually`] for a yes/no condition: polls until `condition` holds.
///
/// # Panics
///
/// When [`deadline`] passes first, naming `what`.
pub async fn until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let probe = || {
        let holds = condition();
        async move { if holds.await { Ok(()) } else { Err("the condition did not hold".to_owned()) } }
    };
    eventually(what, probe).await;
}

/// Awaits `future`, failing the test with `what` when [`deadline`] passes
/// first (a stream that never delivers, a request that never returns).
///
/// # Panics
///
/// When the deadline passes first.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let limit = deadline();
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("gave up after {limit:?} waiting for {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_deadline_naming_what_it_waited_for() {
        let outcome = tokio::spawn(eventually("a condition that never holds", || async { Err::<(), _>("no".into()) }));
        let message = *outcome.await.unwrap_err().into_panic().downcast::<String>().unwrap();
        assert!(message.contains("a condition that never holds") && message.contains("last seen: no"), "{message}");
    }

    #[tokio::test(start_paused = true)]
    async fn within_fails_a_future_that_never_finishes() {
        let outcome = tokio::spawn(within("a pending future", std::future::pending::<()>()));
        let message = *outcome.await.unwrap_err().into_panic().downcast::<String>().unwrap();
        assert!(message.contains("a pending future"), "{message}");
    }
}
