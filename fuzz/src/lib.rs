//! # fleetgov-fuzz
//!
//! Fuzz targets for every decoder of fleetgov that reads bytes from outside
//! the process, each run through the public entry point that real input
//! takes, and each checking what the code promises, not only that it
//! returns:
//!
//! | target | code under test | properties checked on every input |
//! |---|---|---|
//! | [`heartbeat_batch`] | `HeartbeatRecord::decode_all`, `Engine::ingest_batch` | a refused batch is `INVALID_INPUT` with the decoder's message and changes nothing (views, audit, outcome buffer); an applied one has one valid outcome per record, matching the time and node rules, counted in the summary; records re-encode to their bytes; counters equal a recount |
//! | [`audit_frame`] | `AuditRecord::from_frame` | a decoded frame re-encodes to the same bytes and its record survives JSON; anything else is `INVALID_INPUT` |
//! | [`audit_file`] | `audit::verify_file`, `AuditLog::open` | the offline verifier and recovery agree: same head, the torn tail cut and nothing more, a refused file left as it was, only `INVALID_INPUT` or `AUDIT_TAMPERED` |
//! | [`heartbeat_json`] | `POST /api/v1/heartbeats` (JSON) through the server's router | 200 exactly when the body is a batch, one result per heartbeat in order; a refused body is a JSON `INVALID_INPUT` error and changes nothing; never a 5xx |
//! | [`nats_wire`] | the NATS request and reply bodies, error headers, subject tokens, cluster summaries, heartbeat batches bound to a cluster | decoders invert the encoders; summaries age and merge within their bounds; a record of another cluster's node is refused and changes nothing |
//!
//! A target is a [`Target`]: its seeds (the checked-in corpus under
//! `fuzz/corpus/<name>` is made from them, see [`corpus`]), a dictionary for
//! the mutator ([`mutate`]) and a [`Harness`] that runs one input and
//! panics, naming the property, when the code under test breaks one.
//! `fuzz/README.md` says how the corpus is replayed by the default test run,
//! how the slow tier mutates it, and how to run AFL++ on the same harnesses.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod audit_file;
pub mod audit_frame;
pub mod corpus;
mod fleet_state;
pub mod heartbeat_batch;
pub mod heartbeat_json;
pub mod mutate;
pub mod nats_wire;

/// One fuzz target, set up once and then fed any bytes.
pub trait Harness {
    /// Runs the code under test on `data` and checks its properties;
    /// panics, naming the property, if one does not hold.
    fn run(&mut self, data: &[u8]);
}

/// A named input of a target's corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seed {
    /// The file name in the corpus folder.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

impl Seed {
    /// A seed called `name` holding `bytes`.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Seed { name: name.into(), bytes: bytes.into() }
    }
}

/// A fuzz target: how to build its harness, its seeds and its dictionary.
pub struct Target {
    /// The target's name, also its corpus folder.
    pub name: &'static str,
    /// Builds a harness.
    pub harness: fn() -> Box<dyn Harness>,
    /// The generated seeds, valid inputs and their interesting neighbours.
    pub seeds: fn() -> Vec<Seed>,
    /// Byte strings the mutator inserts (format keywords, boundary numbers).
    pub dictionary: &'static [&'static [u8]],
    /// How many mutated inputs the slow tier runs: a minute or two in a
    /// release build, whatever the target's cost per input.
    pub slow_count: u64,
}

/// Every target.
pub const TARGETS: [Target; 5] = [
    Target {
        name: "heartbeat_batch",
        harness: || Box::new(heartbeat_batch::BatchHarness::new()),
        seeds: heartbeat_batch::seeds,
        dictionary: heartbeat_batch::DICTIONARY,
        slow_count: 1_000_000,
    },
    Target {
        name: "audit_frame",
        harness: || Box::new(audit_frame::FrameHarness),
        seeds: audit_frame::seeds,
        dictionary: audit_frame::DICTIONARY,
        slow_count: 10_000_000,
    },
    Target {
        name: "audit_file",
        harness: || Box::new(audit_file::FileHarness::new()),
        seeds: audit_file::seeds,
        dictionary: audit_file::DICTIONARY,
        slow_count: 200_000,
    },
    Target {
        name: "heartbeat_json",
        harness: || Box::new(heartbeat_json::JsonHarness::new()),
        seeds: heartbeat_json::seeds,
        dictionary: heartbeat_json::DICTIONARY,
        slow_count: 1_000_000,
    },
    Target {
        name: "nats_wire",
        harness: || Box::new(nats_wire::WireHarness::new()),
        seeds: nats_wire::seeds,
        dictionary: nats_wire::DICTIONARY,
        slow_count: 2_000_000,
    },
];

/// The target called `name`.
///
/// ```
/// assert!(fleetgov_fuzz::target("audit_frame").is_some());
/// assert!(fleetgov_fuzz::target("nothing").is_none());
/// ```
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
