//! Every subject, KV key, bucket and queue-group name of the protocol, and the
//! id encoding that puts engine ids into subject tokens and KV keys.
//!
//! Engine ids are ASCII letters, digits and `. _ - :` (see
//! [`fleetgov::validate_id`]). In a subject `.` separates tokens, and `:` is
//! not allowed in a KV key, so a token is the id with `.` written `=2E` and
//! `:` written `=3A`. `=` is not an id character, so the encoding is a
//! bijection, and its output (letters, digits, `_ - =`) is valid both as a
//! NATS subject token and as a JetStream KV key.
//!
//! ```
//! use fleetgov_nats::subject;
//! assert_eq!(subject::encode_id("gw-1.eu:a").unwrap(), "gw-1=2Eeu=3Aa");
//! assert_eq!(subject::decode_id("gw-1=2Eeu=3Aa").unwrap(), "gw-1.eu:a");
//! assert_eq!(subject::heartbeats("acme", "eks.prod").unwrap(), "fleet.hb.acme.eks=2Eprod");
//! ```

use fleetgov::{Error, Result, validate_id};

/// The queue group every ingest instance subscribes in, so that while two
/// instances overlap during a handoff each request is handled once.
pub const QUEUE_GROUP: &str = "fleetgov";
/// JetStream object store of configuration artifacts; object name = hex blake3 hash.
pub const ARTIFACTS_BUCKET: &str = "FLEET_ARTIFACTS";
/// KV bucket of partition leases: key `p<k>`, value = owning instance id.
pub const PARTITIONS_BUCKET: &str = "FLEET_PARTITIONS";
/// KV bucket of live instances: key = encoded instance id.
pub const INSTANCES_BUCKET: &str = "FLEET_INSTANCES";
/// KV bucket of per-cluster summaries: key = encoded cluster id, value = JSON.
pub const SUMMARIES_BUCKET: &str = "FLEET_SUMMARIES";
/// The header of an error reply: `<ERROR_CODE>: <message>`, with an empty body.
pub const ERROR_HEADER: &str = "Fleet-Error";

/// Encodes an engine id as a subject token / KV key (`.` -> `=2E`, `:` -> `=3A`).
/// An id the engine would refuse is [`InvalidInput`](fleetgov::ErrorKind::InvalidInput).
///
/// ```
/// assert_eq!(fleetgov_nats::subject::encode_id("eks-prod-us").unwrap(), "eks-prod-us");
/// assert!(fleetgov_nats::subject::encode_id("a b").is_err());
/// assert!(fleetgov_nats::subject::encode_id("a>").is_err());
/// ```
pub fn encode_id(id: &str) -> Result<String> {
    validate_id("id", id)?;
    let mut token = String::with_capacity(id.len() + 8);
    for c in id.chars() {
        match c {
            '.' => token.push_str("=2E"),
            ':' => token.push_str("=3A"),
            c => token.push(c),
        }
    }
    Ok(token)
}

/// Decodes a token made by [`encode_id`]; anything [`encode_id`] cannot have
/// made is [`InvalidInput`](fleetgov::ErrorKind::InvalidInput).
///
/// ```
/// assert_eq!(fleetgov_nats::subject::decode_id("a=3Ab").unwrap(), "a:b");
/// assert!(fleetgov_nats::subject::decode_id("a=41").is_err());
/// assert!(fleetgov_nats::subject::decode_id("a.b").is_err());
/// ```
pub fn decode_id(token: &str) -> Result<String> {
    let mut id = String::with_capacity(token.len());
    let mut rest = token;
    while let Some(at) = rest.find(['=', '.', ':']) {
        id.push_str(&rest[..at]);
        match rest.get(at..at + 3) {
            Some("=2E") => id.push('.'),
            Some("=3A") => id.push(':'),
            _ => return Err(Error::invalid(format!("token {token:?} is not an encoded id"))),
        }
        rest = &rest[at + 3..];
    }
    id.push_str(rest);
    validate_id("id", &id).map_err(|e| e.context(format_args!("token {token:?}")))?;
    Ok(id)
}

/// `fleet.hb.<workspace>.<cluster>`: heartbeat batches of the cluster.
pub fn heartbeats(workspace: &str, cluster: &str) -> Result<String> {
    Ok(format!("fleet.hb.{}.{}", encode_id(workspace)?, encode_id(cluster)?))
}

/// `fleet.enroll.<workspace>.<cluster>`: enrollment requests of the cluster.
///
/// ```
/// assert_eq!(fleetgov_nats::subject::enroll("acme", "c:1").unwrap(), "fleet.enroll.acme.c=3A1");
/// ```
pub fn enroll(workspace: &str, cluster: &str) -> Result<String> {
    Ok(format!("fleet.enroll.{}.{}", encode_id(workspace)?, encode_id(cluster)?))
}

/// `p<k>`: the lease key of partition `k` in [`PARTITIONS_BUCKET`].
///
/// ```
/// assert_eq!(fleetgov_nats::subject::partition_key(7), "p7");
/// ```
pub fn partition_key(partition: u32) -> String {
    format!("p{partition}")
}

/// The key of a cluster's summary in [`SUMMARIES_BUCKET`].
pub fn summary_key(cluster: &str) -> Result<String> {
    encode_id(cluster)
}

/// The key of an instance in [`INSTANCES_BUCKET`].
pub fn instance_key(instance: &str) -> Result<String> {
    encode_id(instance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn both_special_characters_round_trip() {
        for id in ["a.b", "a:b", "...", ":::", "a.:b", "x=2E", "p.1:2"] {
            if validate_id("id", id).is_err() {
                assert!(encode_id(id).is_err(), "{id}");
                continue;
            }
            let token = encode_id(id).unwrap();
            assert!(!token.contains(['.', ':']), "{token}");
            assert_eq!(decode_id(&token).unwrap(), id);
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in ["", "=", "a=", "a=2", "=2e", "=3a", "a=41b", "a.b", "a:b", "a b", "a*", "a>"] {
            assert!(decode_id(token).is_err(), "{token:?}");
        }
    }

    #[test]
    fn subjects_have_exactly_four_tokens() {
        let s = heartbeats("ws.a", "c:1.2").unwrap();
        assert_eq!(s.split('.').count(), 4);
        assert_eq!(s, "fleet.hb.ws=2Ea.c=3A1=2E2");
        assert!(heartbeats("ws", "*").is_err());
        assert!(enroll("", "c").is_err());
    }

    proptest! {
        #[test]
        fn encoding_is_a_bijection_onto_valid_tokens(id in "[A-Za-z0-9._:-]{1,64}") {
            prop_assume!(validate_id("id", &id).is_ok());
            let token = encode_id(&id).unwrap();
            prop_assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '=')));
            prop_assert_eq!(decode_id(&token).unwrap(), id);
        }

        #[test]
        fn distinct_ids_never_share_a_token(a in "[a-c.:]{1,6}", b in "[a-c.:]{1,6}") {
            prop_assume!(a != b);
            prop_assert_ne!(encode_id(&a).unwrap(), encode_id(&b).unwrap());
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(token in ".{0,40}") {
            if let Ok(id) = decode_id(&token) {
                prop_assert_eq!(encode_id(&id).unwrap(), token);
            }
        }
    }
}
