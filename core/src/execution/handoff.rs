//! Handing a set of clusters' execution state from one engine to another:
//! what each node ran (the journal) and each node's last report, by node
//! id, so an engine that takes the clusters over (another process, another
//! machine) answers their history and shows their nodes at once.
//!
//! Slots and handles are an engine's own; everything here names nodes and
//! clusters by id. The authority (clusters, revisions, snapshots) must be
//! the same in both engines: revisions are carried as numbers.
//!
//! Both exports are self-checking byte strings: the magic
//! `fleetgov handoff`, the format version (u32), the kind (1: nodes,
//! 2: journal), the record count (u32), where the exporter's retained
//! history began (u64 ms), the records, and a CRC-32C of everything before
//! it; integers big-endian, ids as a length byte and ASCII.
//!
//! - a **node** record: node id, cluster id, enrolment time (u64 ms), a
//!   byte saying whether a last report follows, and the report as the
//!   node-state checkpoint encodes it;
//! - a **journal** record: node id, cluster id, and one transition as a
//!   journal segment encodes it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::persist::{merge, saved_node};
use crate::data_dir::{SavedNode, StoredTransition};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::heartbeat::MAX_FUTURE_SKEW_MS;
use crate::execution::journal::Transition;
use crate::governance::audit::AuditRecord;
use crate::governance::journal_seal::{SealedSegment, seal_entry};
use crate::id::validate_id;

const MAGIC: &[u8; 16] = b"fleetgov handoff";
const VERSION: u32 = 1;
const NODES: u8 = 1;
const JOURNAL: u8 = 2;
/// Magic, version, kind, count, history start.
const HEAD: usize = 16 + 4 + 1 + 4 + 8;

/// Transitions of a set of clusters taken from an engine's journal
/// ([`Engine::export_journal`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalExport {
    /// The transitions, in journal order, for [`Engine::import_execution`]
    /// (the format is in the module notes).
    pub bytes: Vec<u8>,
    /// How many transitions `bytes` holds.
    pub transitions: u64,
    /// The journal position after the last entry read: the next export starts there.
    pub next: u64,
}

/// What [`Engine::import_execution`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Nodes enrolled that the engine did not know.
    pub enrolled: u64,
    /// Transitions added to the journal (those newer than what the engine
    /// held for their node; the others it already knew).
    pub transitions: u64,
    /// Nodes whose last report was replaced by a newer one.
    pub reports: u64,
}

/// A nodes export and journal exports, decoded and checked.
pub(super) struct Handoff {
    nodes: Vec<NodeRecord>,
    journal: Vec<JournalRecord>,
    /// Where the earliest journal exporter's history began.
    history_from: Option<u64>,
}

impl Handoff {
    /// Decodes `nodes` and every export of `journal`; nothing is taken in.
    pub(super) fn decode(nodes: Option<&[u8]>, journal: &[&[u8]]) -> Result<Handoff> {
        let nodes = nodes.map(decode_nodes).transpose()?.unwrap_or_default();
        let journal = journal.iter().map(|bytes| decode_journal(bytes)).collect::<Result<Vec<_>>>()?;
        let history_from = journal.iter().map(|(_, from)| *from).min();
        let journal = journal.into_iter().flat_map(|(records, _)| records).collect();
        Ok(Handoff { nodes, journal, history_from })
    }
}

/// What a handoff says of one node.
pub(super) struct Member<'a> {
    /// Its cluster.
    pub(super) cluster: &'a str,
    /// Its earliest enrolment time there.
    enrolled_at_ms: u64,
    /// The newest time the handoff gives for it: enrolment, last report or
    /// transition.
    pub(super) newest_ms: u64,
}

/// One node of a nodes export.
struct NodeRecord {
    node: String,
    cluster: String,
    enrolled_at_ms: u64,
    report: Option<SavedNode>,
}

/// One transition of a journal export.
struct JournalRecord {
    node: String,
    cluster: String,
    transition: StoredTransition,
}

impl Engine {
    /// The journal's current position: every transition recorded from now
    /// on is at or after it ([`export_journal`](Self::export_journal)).
    ///
    /// ```
    /// assert_eq!(fleetgov::Engine::new().journal_position(), 0);
    /// ```
    pub fn journal_position(&self) -> u64 {
        u64::from(self.execution.journal.len())
    }

    /// The transitions of the nodes of `clusters` recorded at journal
    /// positions from `from` on, in journal order, up to about `max_bytes`
    /// (at least one transition when there is one); positions compacted
    /// away (see [`compact`](Self::compact)) are skipped. It stops early at an
    /// entry still being written; the next export continues from
    /// [`next`](JournalExport::next). Unknown cluster:
    /// [`NotFound`](ErrorKind::NotFound).
    ///
    /// ```
    /// # use fleetgov::*;
    /// let t = 1_700_000_000_000;
    /// let e = demo::engine(t).unwrap();
    /// let all = e.export_journal(&["gke-stage-eu"], 0, usize::MAX).unwrap();
    /// assert!(all.transitions > 0);
    /// assert_eq!(all.next, e.journal_position());
    /// let first = e.export_journal(&["gke-stage-eu"], 0, 1).unwrap();
    /// assert_eq!(first.transitions, 1, "one transition at least, however small the limit");
    /// ```
    pub fn export_journal(&self, clusters: &[&str], from: u64, max_bytes: usize) -> Result<JournalExport> {
        let wanted = self.cluster_set(clusters)?;
        let end = self.journal_position();
        let mut records = Vec::new();
        let first = u64::from(self.execution.journal.first());
        let (mut count, mut next) = (0u32, from.max(first).min(end));
        while next < end && (count == 0 || records.len() < max_bytes) {
            // Positions are below `Journal::len`, a u32.
            let Some((slot, t)) = self.execution.journal.entry(next as u32) else { break };
            next += 1;
            let Some(cell) = self.execution.nodes.slot(slot) else { continue };
            if !wanted.contains(&cell.cluster()) {
                continue;
            }
            self.push_ids(&mut records, slot, cell.cluster());
            StoredTransition::of(&self.execution.journal, 0, t).encode(&mut records);
            count += 1;
        }
        let bytes = self.seal(JOURNAL, count, records);
        Ok(JournalExport { bytes, transitions: u64::from(count), next })
    }

    /// Every node enrolled in `clusters`: its id, cluster, enrolment time and
    /// last report (if it reported), for
    /// [`import_execution`](Self::import_execution). Unknown cluster:
    /// [`NotFound`](ErrorKind::NotFound).
    ///
    /// ```
    /// # use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let nodes = e.export_nodes(&["eks-prod-us"]).unwrap();
    /// assert!(nodes.starts_with(b"fleetgov handoff"));
    /// assert_eq!(e.export_nodes(&["nope"]).unwrap_err().kind(), ErrorKind::NotFound);
    /// ```
    pub fn export_nodes(&self, clusters: &[&str]) -> Result<Vec<u8>> {
        let wanted = self.cluster_set(clusters)?;
        let mut records = Vec::new();
        let mut count = 0u32;
        for slot in 0..self.execution.nodes.len() {
            let Some(cell) = self.execution.nodes.slot(slot) else { continue };
            if !cell.state().is_enrolled() || !wanted.contains(&cell.cluster()) {
                continue;
            }
            self.push_ids(&mut records, slot, cell.cluster());
            records.extend_from_slice(&self.execution.nodes.enrolled_at(slot).to_be_bytes());
            match saved_node(&self.execution.nodes, &self.execution.journal, &self.execution.sync_errors, slot) {
                Some(report) => {
                    records.push(1);
                    report.encode(&mut records);
                }
                None => records.push(0),
            }
            count += 1;
        }
        Ok(self.seal(NODES, count, records))
    }

    /// Takes over the execution state another engine exported: enrols the
    /// nodes it does not know (at their enrolment time there), appends the
    /// transitions of `journal` (exports in journal order, from the first)
    /// that are newer than what it holds for their node, and gives every
    /// node named the newest last report it knows of: its own, the one in
    /// `nodes`, or the one the node's latest transition implies (as a
    /// restart from a data directory does). Its retained history then
    /// begins no later than the exporter's did
    /// ([`history_start_ms`](Self::history_start_ms)): give every export of
    /// the journal, from the first.
    ///
    /// Everything is decoded and checked before anything changes: damaged
    /// or foreign bytes are [`AuditTampered`](ErrorKind::AuditTampered) or
    /// [`InvalidInput`](ErrorKind::InvalidInput); a cluster this engine
    /// does not know, [`NotFound`](ErrorKind::NotFound); a node enrolled
    /// here in another cluster, [`Conflict`](ErrorKind::Conflict); a time
    /// beyond the clock's tolerance, `InvalidInput`.
    ///
    /// ```
    /// # use fleetgov::*;
    /// let t = 1_700_000_000_000;
    /// let clock = Clock::manual(t - 60_000);
    /// let engine = || Engine::with_config(EngineConfig { clock: clock.clone(), ..EngineConfig::default() }).unwrap();
    /// let authority = |e: &Engine| -> Result<Snapshot> {
    ///     e.upsert_workspace(WorkspaceSpec::new("ws"))?;
    ///     e.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging))?;
    ///     e.publish("c", b"routes: []", "alice", t - 10_000)
    /// };
    /// let before = engine(); // its history begins a minute before `t`
    /// clock.set(t);
    /// let after = engine();
    /// let s = authority(&before).unwrap();
    /// authority(&after).unwrap(); // the same authority, none of the nodes
    /// before.enroll("gw-1", "c", t - 5_000).unwrap();
    /// let hb = Heartbeat::new(t - 1_000, "3.6.0".parse().unwrap()).applied(&s.id, s.hash);
    /// before.heartbeat_by_id("gw-1", &hb).unwrap();
    ///
    /// let nodes = before.export_nodes(&["c"]).unwrap();
    /// let journal = before.export_journal(&["c"], 0, usize::MAX).unwrap();
    /// let imported = after.import_execution(Some(&nodes), &[&journal.bytes]).unwrap();
    /// assert_eq!((imported.enrolled, imported.transitions, imported.reports), (1, 1, 1));
    /// assert_eq!(after.node("gw-1", t).unwrap(), before.node("gw-1", t).unwrap());
    /// assert_eq!(after.what_ran("gw-1", t - 500).unwrap(), before.what_ran("gw-1", t - 500).unwrap());
    /// assert_eq!(after.history_start_ms(), t - 60_000, "its history now begins where the exporter's did");
    /// let again = after.import_execution(Some(&nodes), &[&journal.bytes]).unwrap();
    /// assert_eq!(again, Imported::default(), "known already");
    /// ```
    pub fn import_execution(&self, nodes: Option<&[u8]>, journal: &[&[u8]]) -> Result<Imported> {
        let handoff = Handoff::decode(nodes, journal)?;
        let members = self.handoff_members(&handoff)?;
        self.check_members(&members, &HashSet::new())?;
        self.take_in(&handoff, &members)
    }

    /// Which cluster each node `handoff` names is in, when it was enrolled
    /// and the newest time the handoff gives for it; a node listed in two
    /// clusters is a `Conflict`, a time beyond the clock's tolerance
    /// `InvalidInput`.
    pub(super) fn handoff_members<'a>(&self, handoff: &'a Handoff) -> Result<HashMap<&'a str, Member<'a>>> {
        let limit = self.clock.now_ms().saturating_add(MAX_FUTURE_SKEW_MS);
        let mut members: HashMap<&str, Member<'_>> = HashMap::new();
        let listed = handoff
            .nodes
            .iter()
            .map(|n| (&n.node, &n.cluster, n.enrolled_at_ms, n.report.as_ref().map(|r| r.last_hb_ms)));
        let transitions =
            handoff.journal.iter().map(|r| (&r.node, &r.cluster, r.transition.at_ms, Some(r.transition.at_ms)));
        for (node, cluster, enrolled_at_ms, at_ms) in listed.chain(transitions) {
            if at_ms.is_some_and(|at| at > limit) {
                return Err(Error::invalid(format!("node '{node}' reported at {at_ms:?} ms, after the clock")));
            }
            let first = members.entry(node).or_insert(Member { cluster, enrolled_at_ms, newest_ms: enrolled_at_ms });
            if first.cluster != cluster {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("node '{node}' is listed in clusters '{}' and '{cluster}'", first.cluster),
                ));
            }
            first.enrolled_at_ms = first.enrolled_at_ms.min(enrolled_at_ms);
            first.newest_ms = first.newest_ms.max(enrolled_at_ms).max(at_ms.unwrap_or(0));
        }
        Ok(members)
    }

    /// Checks that `members` can be taken in once the nodes `leaving` are
    /// removed: every cluster known (`NotFound`), no node enrolled here in
    /// another cluster (`Conflict`), and room for the new ones
    /// (`InvalidInput`).
    pub(super) fn check_members(&self, members: &HashMap<&str, Member<'_>>, leaving: &HashSet<&str>) -> Result<()> {
        let mut fresh = 0usize;
        for (node, member) in members {
            let index = self.cluster_index(member.cluster)?;
            let enrolled = self.execution.nodes.lookup(node).and_then(|s| self.execution.nodes.slot(s));
            match enrolled.filter(|_| !leaving.contains(node)).map(|s| s.cluster()) {
                Some(other) if other != index => {
                    let other = &self.cluster_at(other).id;
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("node '{node}' is enrolled in cluster '{other}'"),
                    ));
                }
                Some(_) => {}
                None => fresh += 1,
            }
        }
        if self.execution.nodes.len() as usize + fresh > self.execution.nodes.capacity() as usize {
            return Err(Error::invalid(format!(
                "the engine is full: {fresh} imported nodes do not fit its capacity of {}",
                self.execution.nodes.capacity()
            )));
        }
        Ok(())
    }

    /// Takes the checked `members` of `handoff` in: enrols those it does
    /// not know, appends their newer transitions, gives each the newest
    /// last report known. Records of nodes not in `members` are passed over.
    pub(super) fn take_in(&self, handoff: &Handoff, members: &HashMap<&str, Member<'_>>) -> Result<Imported> {
        let mut imported = Imported::default();
        for (node, member) in members {
            if self.execution.nodes.lookup(node).is_none() {
                self.enroll(node, member.cluster, member.enrolled_at_ms)?;
                imported.enrolled += 1;
            }
        }
        for record in handoff.journal.iter().filter(|r| members.contains_key(r.node.as_str())) {
            let Some(slot) = self.execution.nodes.lookup(&record.node) else { continue };
            let Some(cell) = self.execution.nodes.slot(slot) else { continue };
            let t = record.transition;
            let guard = cell.lock();
            let latest = self.execution.journal.at(slot, guard.last_transition(), u64::MAX);
            if latest.is_some_and(|l| l.at_ms >= t.at_ms) {
                continue; // known already, or older than what it knows
            }
            let transition =
                Transition { at_ms: t.at_ms, revision: t.revision, hash: t.hash.into_ref(&self.execution.journal) };
            if let Some(entry) = self.execution.journal.push(slot, guard.last_transition(), transition) {
                guard.set_last_transition(entry);
                imported.transitions += 1;
            }
        }
        if let Some(from) = handoff.history_from {
            self.execution.journal.imported_from(from);
        }

        let reports: HashMap<&str, &SavedNode> =
            handoff.nodes.iter().filter_map(|n| Some((n.node.as_str(), n.report.as_ref()?))).collect();
        for node in members.keys() {
            let Some(slot) = self.execution.nodes.lookup(node) else { continue };
            let Some(cell) = self.execution.nodes.slot(slot) else { continue };
            let read = cell.read();
            let latest = self.execution.journal.at(slot, read.last_transition, u64::MAX);
            let saved = reports.get(node).map(|r| SavedNode { slot, ..(*r).clone() });
            let Some(report) = merge(saved.as_ref(), latest, &|r| self.execution.journal.odd_hash(r)) else { continue };
            if !read.state.has_heartbeat() || report.last_hb_ms > read.last_hb_ms {
                self.restore_node(slot, &report);
                imported.reports += 1;
            }
        }
        Ok(imported)
    }

    /// Seals a journal export kept outside the data directory (for example
    /// a partition's journal segment in a message stream) into the audit
    /// log: one `seal_journal` record, as the data directory writes for each
    /// of its segment files, carrying the export's transition count, time
    /// range and the blake3 hash of `segment`'s bytes, on the target
    /// `journal:<journal>:<first>` (`first`: where the segment begins in
    /// that journal, such as its stream sequence). Every signed checkpoint
    /// after it commits to those bytes: whoever holds them checks them
    /// against the record.
    ///
    /// Errors, with nothing appended: `journal` not an id, or `segment` not
    /// a journal export ([`Engine::export_journal`]) holding at least one
    /// transition, [`InvalidInput`](ErrorKind::InvalidInput) (or
    /// [`AuditTampered`](ErrorKind::AuditTampered) for damaged bytes); the
    /// audit log refusing the append, as for any audited change.
    ///
    /// ```
    /// # use fleetgov::*;
    /// let t = 1_700_000_000_000;
    /// let e = demo::engine(t).unwrap();
    /// let segment = e.export_journal(&["gke-stage-eu"], 0, usize::MAX).unwrap();
    /// let record = e.record_journal_segment("p3", 17, &segment.bytes).unwrap();
    /// assert_eq!(record.action, audit::AuditAction::SealJournal);
    /// assert_eq!(record.target, "journal:p3:17");
    /// let sealed: serde_json::Value = serde_json::from_slice(&record.payload).unwrap();
    /// assert_eq!(sealed["count"], segment.transitions);
    /// assert_eq!(sealed["hash"], ContentHash::of(&segment.bytes).to_string());
    /// assert_eq!(e.record_journal_segment("p3", 18, b"junk").unwrap_err().kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn record_journal_segment(&self, journal: &str, first: u64, segment: &[u8]) -> Result<Arc<AuditRecord>> {
        validate_id("journal", journal)?;
        let (records, _) = decode_journal(segment)?;
        let times = records.iter().map(|r| r.transition.at_ms);
        let (Some(from_ms), Some(to_ms)) = (times.clone().min(), times.max()) else {
            return Err(Error::invalid("a journal segment to seal holds no transition"));
        };
        let sealed = SealedSegment { first, count: records.len() as u64, span: (from_ms, to_ms), bytes: segment };
        let entry = seal_entry(self.clock.now_ms(), format!("journal:{journal}:{first}"), &sealed);
        let record = self.governance.audit().append(entry)?;
        self.announce(&record);
        Ok(record)
    }

    /// The whole export: head, records, checksum.
    fn seal(&self, kind: u8, count: u32, records: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEAD + records.len() + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.push(kind);
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&self.history_start_ms().to_be_bytes());
        out.extend_from_slice(&records);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// The indices of `clusters`; an unknown one is `NotFound`.
    fn cluster_set(&self, clusters: &[&str]) -> Result<HashSet<u32>> {
        clusters.iter().map(|c| self.cluster_index(c)).collect()
    }

    /// Appends the id of the node in `slot` and of its cluster.
    fn push_ids(&self, out: &mut Vec<u8>, slot: u32, cluster: u32) {
        for id in [self.execution.nodes.id(slot), &self.cluster_at(cluster).id] {
            // Ids are validated to at most 128 bytes before they are used.
            out.push(id.len() as u8);
            out.extend_from_slice(id.as_bytes());
        }
    }
}

/// The records of an export of `kind`, how many there are and where the
/// exporter's history began; refuses damage, another format version,
/// another kind.
fn open(bytes: &[u8], kind: u8) -> Result<(&[u8], u32, u64)> {
    let what = if kind == NODES { "nodes" } else { "journal" };
    let damaged = || Error::new(ErrorKind::AuditTampered, format!("a {what} handoff is damaged"));
    let (body, crc) = bytes.split_at_checked(bytes.len().saturating_sub(4)).ok_or_else(damaged)?;
    if body.len() < HEAD || !body.starts_with(MAGIC) {
        return Err(Error::invalid(format!("not a {what} handoff: no fleetgov handoff head")));
    }
    if crc32c::crc32c(body).to_be_bytes() != crc {
        return Err(damaged());
    }
    let version = u32::from_be_bytes([body[16], body[17], body[18], body[19]]);
    if version != VERSION {
        return Err(Error::invalid(format!("a handoff of format version {version}; this build reads {VERSION}")));
    }
    if body[20] != kind {
        return Err(Error::invalid(format!("not a {what} handoff: kind {}", body[20])));
    }
    let count = u32::from_be_bytes([body[21], body[22], body[23], body[24]]);
    let mut from = [0u8; 8];
    from.copy_from_slice(&body[25..HEAD]);
    Ok((&body[HEAD..], count, u64::from_be_bytes(from)))
}

fn decode_nodes(bytes: &[u8]) -> Result<Vec<NodeRecord>> {
    let (records, _) = decode(bytes, NODES, |node, cluster, rest| {
        let (at, tail) = rest.split_at_checked(8)?;
        let enrolled_at_ms = u64::from_be_bytes(at.try_into().ok()?);
        let (&flag, tail) = tail.split_first()?;
        *rest = tail;
        let report = match flag {
            0 => None,
            1 => Some(SavedNode::decode(rest)?),
            _ => return None,
        };
        Some(NodeRecord { node, cluster, enrolled_at_ms, report })
    })?;
    Ok(records)
}

/// The transitions of a journal export and where its exporter's history began.
fn decode_journal(bytes: &[u8]) -> Result<(Vec<JournalRecord>, u64)> {
    decode(bytes, JOURNAL, |node, cluster, rest| {
        Some(JournalRecord { node, cluster, transition: StoredTransition::decode(rest)? })
    })
}

/// The records of an export of `kind`, each read by `record` after its two
/// ids, and where the exporter's history began.
fn decode<T>(
    bytes: &[u8],
    kind: u8,
    record: impl Fn(String, String, &mut &[u8]) -> Option<T>,
) -> Result<(Vec<T>, u64)> {
    let (mut rest, count, from_ms) = open(bytes, kind)?;
    let bad = || Error::invalid("a handoff holds a record that does not decode");
    let mut out = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        let (node, cluster) = ids(&mut rest)?;
        out.push(record(node, cluster, &mut rest).ok_or_else(bad)?);
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok((out, from_ms))
}

/// A node id and a cluster id from the front of `rest`, each checked.
fn ids(rest: &mut &[u8]) -> Result<(String, String)> {
    let mut id = |what: &str| -> Result<String> {
        let bad = || Error::invalid(format!("a handoff holds a {what} id that does not decode"));
        let (&len, tail) = rest.split_first().ok_or_else(bad)?;
        let (id, tail) = tail.split_at_checked(usize::from(len)).ok_or_else(bad)?;
        *rest = tail;
        let id = std::str::from_utf8(id).map_err(|_| bad())?;
        validate_id(what, id)?;
        Ok(id.to_owned())
    };
    Ok((id("node")?, id("cluster")?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::event::AuthorityEvent;
    use crate::governance::audit::AuditAction;
    use crate::{Clock, EngineConfig};

    const T: u64 = 1_700_000_000_000;

    fn fresh() -> Engine {
        let e = Engine::with_config(EngineConfig { clock: Clock::manual(T), ..EngineConfig::default() }).unwrap();
        let demo = crate::demo::engine(T).unwrap();
        e.upsert_workspace(demo.workspace(crate::demo::WORKSPACE).unwrap()).unwrap();
        for id in demo.cluster_ids() {
            e.upsert_cluster(demo.cluster_state(&id).unwrap().authority.spec.read().clone()).unwrap();
            let desired = demo.desired(&id).unwrap().map_or(0, |s| s.revision);
            for rev in 1..=desired {
                let s = demo.snapshot(&crate::snapshot_id(&id, rev)).unwrap();
                e.publish(&id, &demo.artifact(&s.hash).unwrap(), &s.author, s.published_at_ms).unwrap();
            }
        }
        e
    }

    #[test]
    fn a_takeover_shows_the_same_nodes_and_history_and_refuses_bad_bytes() {
        let before = crate::demo::engine(T).unwrap();
        let clusters: Vec<String> = before.cluster_ids();
        let ids: Vec<&str> = clusters.iter().map(String::as_str).collect();
        let nodes = before.export_nodes(&ids).unwrap();
        let mut parts = Vec::new();
        let mut from = 0;
        while from < before.journal_position() {
            let part = before.export_journal(&ids, from, 64).unwrap();
            from = part.next;
            parts.push(part.bytes);
        }
        let after = fresh();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();

        let mut damaged = nodes.clone();
        damaged[HEAD + 3] ^= 1;
        assert_eq!(after.import_execution(Some(&damaged), &refs).unwrap_err().kind(), ErrorKind::AuditTampered);
        assert_eq!(after.import_execution(Some(&parts[0]), &[]).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(after.import_execution(None, &[&nodes]).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(after.execution.nodes.len(), 0, "nothing changed on a refusal");

        let imported = after.import_execution(Some(&nodes), &refs).unwrap();
        assert_eq!(imported.enrolled, u64::from(before.execution.nodes.len()));
        for c in &clusters {
            assert_eq!(after.cluster(c, T).unwrap(), before.cluster(c, T).unwrap());
            assert_eq!(after.fleet_at(c, T).unwrap(), before.fleet_at(c, T).unwrap());
        }
        assert_eq!(after.history_start_ms(), before.history_start_ms());
        assert_eq!(after.recount_mismatches(), Vec::<String>::new());
    }

    #[test]
    fn a_sealed_segment_commits_its_count_times_and_hash_and_bad_input_appends_nothing() {
        let e = crate::demo::engine(T).unwrap();
        let segment = e.export_journal(&["eks-prod-us"], 0, usize::MAX).unwrap();
        let (records, _) = decode_journal(&segment.bytes).unwrap();
        let before = e.audit().len();
        for (journal, bytes) in [("p 1", &segment.bytes[..]), ("p1", b"junk"), ("p1", &segment.bytes[..9])] {
            assert!(e.record_journal_segment(journal, 4, bytes).is_err(), "{journal}");
        }
        let empty = e.export_journal(&["eks-prod-us"], e.journal_position(), usize::MAX).unwrap();
        let refused = e.record_journal_segment("p1", 4, &empty.bytes).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidInput, "no transition: {refused}");
        assert_eq!(e.audit().len(), before, "nothing appended on a refusal");

        let record = e.record_journal_segment("p1", 4, &segment.bytes).unwrap();
        assert_eq!((record.action, record.target.as_str()), (AuditAction::SealJournal, "journal:p1:4"));
        let (event, _) = AuthorityEvent::decode(&record.payload).unwrap();
        let times: Vec<u64> = records.iter().map(|r| r.transition.at_ms).collect();
        let expected = AuthorityEvent::JournalSegment {
            first: 4,
            count: segment.transitions,
            from_ms: *times.iter().min().unwrap(),
            to_ms: *times.iter().max().unwrap(),
            hash: crate::ContentHash::of(&segment.bytes),
        };
        assert_eq!(event, expected);
        assert_eq!(e.audit().len(), before + 1);
        assert!(e.verify_audit().is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Bytes from the network: any change to an export is imported
        /// whole or refused with a typed error and nothing changed, never a
        /// panic (the checksum is recomputed, so the decoder itself is reached).
        #[test]
        fn damaged_or_forged_exports_are_refused_whole(at in 0usize..4_000, byte: u8, cut in 0usize..64) {
            // Engines are costly to make: one exporter, one importer for every case.
            static EXPORTS: std::sync::LazyLock<(Vec<u8>, Vec<u8>)> = std::sync::LazyLock::new(|| {
                let before = crate::demo::engine(T).unwrap();
                let journal = before.export_journal(&["gke-stage-eu", "eks-prod-us"], 0, usize::MAX).unwrap();
                (journal.bytes, before.export_nodes(&["gke-stage-eu"]).unwrap())
            });
            static AFTER: std::sync::LazyLock<Engine> = std::sync::LazyLock::new(fresh);
            let (mut bytes, mut forged) = EXPORTS.clone();
            for b in [&mut bytes, &mut forged] {
                let body = b.len() - 4;
                let i = HEAD + at % (body - HEAD);
                b[i] = byte;
                b.truncate(body - cut.min(body - HEAD));
                let crc = crc32c::crc32c(b);
                b.extend_from_slice(&crc.to_be_bytes());
            }
            let after = &*AFTER;
            for (nodes, journal) in [(Some(&forged[..]), &[][..]), (None, &[&bytes[..]][..])] {
                let len = after.execution.nodes.len();
                if after.import_execution(nodes, journal).is_err() {
                    proptest::prop_assert_eq!(after.execution.nodes.len(), len, "nothing enrolled on a refusal");
                }
            }
            proptest::prop_assert_eq!(after.recount_mismatches(), Vec::<String>::new());
        }
    }

    #[test]
    fn a_newer_report_wins_and_an_older_one_is_ignored() {
        let before = crate::demo::engine(T).unwrap();
        let nodes = before.export_nodes(&["gke-stage-eu"]).unwrap();
        let journal = before.export_journal(&["gke-stage-eu"], 0, usize::MAX).unwrap();
        let after = fresh();
        after.import_execution(Some(&nodes), &[&journal.bytes]).unwrap();
        let node = "gw-stage-eu-1";
        let s = after.desired("gke-stage-eu").unwrap().unwrap();
        let later = crate::Heartbeat::new(T, "3.6.0".parse().unwrap()).applied(&s.id, s.hash);
        after.heartbeat_by_id(node, &later).unwrap();
        let own = after.node(node, T).unwrap();
        let again = after.import_execution(Some(&nodes), &[&journal.bytes]).unwrap();
        assert_eq!((again.enrolled, again.transitions), (0, 0));
        assert_eq!(after.node(node, T).unwrap(), own, "its own, newer report stays");
        assert_eq!(
            after
                .import_execution(None, &[&before.export_journal(&["eks-prod-us"], 0, usize::MAX).unwrap().bytes])
                .map(|i| i.enrolled > 0),
            Ok(true)
        );
    }

    #[test]
    fn a_regained_cluster_shows_the_new_owners_state_not_what_it_held_before() {
        // `held` served the cluster, lost it to `owner`, and regains it.
        let held = crate::demo::engine(T).unwrap();
        let owner = fresh();
        let cluster = "gke-stage-eu";
        let export = |e: &Engine| {
            (e.export_nodes(&[cluster]).unwrap(), e.export_journal(&[cluster], 0, usize::MAX).unwrap().bytes)
        };
        let (nodes, journal) = export(&held);
        owner.import_execution(Some(&nodes), &[&journal]).unwrap();
        // `held` knew a report newer than the owner's export of the node: a
        // sync error on the snapshot it runs (no transition: the journal
        // does not hold it, only the report does).
        let node = "gw-stage-eu-2";
        let view = held.node(node, T).unwrap();
        let error: crate::SyncError = "RELOAD_FAILURE: listener port in use".parse().unwrap();
        let stale = crate::Heartbeat {
            sync_error: Some(&error),
            ..crate::Heartbeat::new(T, "3.6.0".parse().unwrap())
                .applied(view.applied_snapshot_id.as_deref().unwrap(), view.applied_hash.unwrap())
        };
        held.heartbeat_by_id(node, &stale).unwrap();
        let (nodes, journal) = export(&owner);
        let merged = crate::demo::engine(T).unwrap();
        merged.heartbeat_by_id(node, &stale).unwrap();
        merged.import_execution(Some(&nodes), &[&journal]).unwrap();
        assert_ne!(merged.node(node, T).unwrap(), owner.node(node, T).unwrap(), "a merge keeps the stale report");

        let total = held.cluster(cluster, T).unwrap().total;
        let replaced = held.replace_execution(&[cluster], Some(&nodes), &[&journal]).unwrap();
        assert_eq!((replaced.removed, replaced.reset), (0, total));
        assert_eq!(held.cluster(cluster, T).unwrap(), owner.cluster(cluster, T).unwrap());
        for n in owner.cluster_nodes(cluster, T, 0, usize::MAX).unwrap() {
            assert_eq!(held.node(&n.id, T).unwrap(), n, "{}", n.id);
        }
        assert_eq!(held.recount_mismatches(), Vec::<String>::new());
    }
}
