//! DSSE envelopes (the Dead Simple Signing Envelope, protocol `DSSEv1`)
//! signed with the log owner's ed25519 key: how attestations travel.
//!
//! ```json
//! {"payloadType":"<type>","payload":"<base64(body)>","signatures":[{"keyid":"<verifier key>","sig":"<base64(signature)>"}]}
//! ```
//!
//! The signature is over the pre-authentication encoding
//! `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`
//! (`SP` one space, `LEN` the length in bytes as ASCII decimal, no leading
//! zeros), never over the base64 text. The `keyid` is the verifier key text
//! `<name>+<key id>+<base64(0x01 || public key)>` of
//! [`CheckpointVerifier`], so it names the key completely. Base64 is the
//! standard alphabet with padding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::{CheckpointSigner, CheckpointVerifier};
use crate::error::{Error, ErrorKind, Result};

/// The media type of a DSSE envelope in JSON.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse+json";

/// The most signatures an envelope may carry.
const MAX_SIGNATURES: usize = 100;

/// The envelope of the DSSE v1 specification, whose JSON field names it
/// fixes (`payloadType`, `payload`, `signatures`, `keyid`, `sig`).
#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize, Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// The DSSE v1 pre-authentication encoding of `body` of type `payload_type`.
///
/// ```
/// assert_eq!(fleetgov::audit::pae("http://example.com/HelloWorld", b"hello world"),
///            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world");
/// ```
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + payload_type.len() + body.len());
    out.extend_from_slice(format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// The envelope (JSON text) carrying `body` of type `payload_type`, signed by `signer`.
pub fn sign_envelope(signer: &CheckpointSigner, payload_type: &str, body: &[u8]) -> Result<String> {
    let signature = signer.sign_bytes(&pae(payload_type, body));
    let envelope = Envelope {
        payload_type: payload_type.to_owned(),
        payload: BASE64.encode(body),
        signatures: vec![EnvelopeSignature { keyid: signer.verifier().to_string(), sig: BASE64.encode(signature) }],
    };
    serde_json::to_string(&envelope).map_err(|e| Error::invalid(format!("envelope: {e}")))
}

/// Checks `envelope` and returns its body.
///
/// The envelope's type must be `payload_type`. Signatures whose `keyid`
/// names another key are ignored; one with an empty `keyid` or this key's
/// counts as this key's. At least one signature of this key must verify and
/// none may fail. Malformed envelopes are
/// [`InvalidInput`](ErrorKind::InvalidInput); a missing or bad signature is
/// [`AuditTampered`](ErrorKind::AuditTampered).
///
/// ```
/// use fleetgov::audit::{CheckpointSigner, open_envelope, sign_envelope};
/// let signer = CheckpointSigner::from_seed("fleetgov.example/audit", [7; 32]).unwrap();
/// let envelope = sign_envelope(&signer, "text/plain", b"hello").unwrap();
/// assert_eq!(open_envelope(&envelope, "text/plain", &signer.verifier()).unwrap(), b"hello");
/// ```
pub fn open_envelope(envelope: &str, payload_type: &str, verifier: &CheckpointVerifier) -> Result<Vec<u8>> {
    let malformed = |why: String| Error::invalid(format!("malformed DSSE envelope: {why}"));
    let envelope: Envelope = serde_json::from_str(envelope).map_err(|e| malformed(e.to_string()))?;
    if envelope.payload_type != payload_type {
        return Err(malformed(format!("payload type {:?}, expected {payload_type:?}", envelope.payload_type)));
    }
    if envelope.signatures.len() > MAX_SIGNATURES {
        return Err(malformed(format!("more than {MAX_SIGNATURES} signatures")));
    }
    let body = BASE64.decode(&envelope.payload).map_err(|_| malformed("the payload is not base64".into()))?;
    let message = pae(&envelope.payload_type, &body);
    let ours = verifier.to_string();
    let mut verified = false;
    for s in envelope.signatures.iter().filter(|s| s.keyid.is_empty() || s.keyid == ours) {
        let signature = BASE64.decode(&s.sig).map_err(|_| malformed("a signature is not base64".into()))?;
        if !verifier.verifies(&message, &signature) {
            return Err(Error::new(
                ErrorKind::AuditTampered,
                format!("envelope for key {:?}: its signature does not verify", verifier.name()),
            ));
        }
        verified = true;
    }
    if !verified {
        return Err(Error::new(
            ErrorKind::AuditTampered,
            format!("envelope for key {:?}: it carries no signature by this key", verifier.name()),
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(seed: u8) -> CheckpointSigner {
        CheckpointSigner::from_seed("log.example", [seed; 32]).unwrap()
    }

    fn edit(envelope: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value = serde_json::from_str(envelope).unwrap();
        f(&mut v);
        v.to_string()
    }

    #[test]
    fn pae_matches_the_specification_example() {
        // The worked example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn envelopes_are_deterministic_and_name_the_key() {
        let s = signer(1);
        let a = sign_envelope(&s, "t", b"{}").unwrap();
        assert_eq!(a, sign_envelope(&s, "t", b"{}").unwrap());
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["signatures"][0]["keyid"], s.verifier().to_string());
        assert_eq!(v["payload"], "e30=");
    }

    #[test]
    fn any_change_is_caught() {
        let s = signer(1);
        let v = s.verifier();
        let good = sign_envelope(&s, "t", b"body").unwrap();
        assert_eq!(open_envelope(&good, "t", &v).unwrap(), b"body");
        let other_body = edit(&good, |e| e["payload"] = BASE64.encode(b"bodY").into());
        assert_eq!(open_envelope(&other_body, "t", &v).unwrap_err().kind(), ErrorKind::AuditTampered);
        // The type is signed too: a relabelled envelope fails even when the reader expects the new type.
        let relabelled = edit(&good, |e| e["payloadType"] = "u".into());
        assert_eq!(open_envelope(&relabelled, "u", &v).unwrap_err().kind(), ErrorKind::AuditTampered);
        assert_eq!(open_envelope(&good, "u", &v).unwrap_err().kind(), ErrorKind::InvalidInput);
        // Another key's envelope, and our signature under another key id.
        let theirs = sign_envelope(&signer(2), "t", b"body").unwrap();
        assert_eq!(open_envelope(&theirs, "t", &v).unwrap_err().kind(), ErrorKind::AuditTampered);
        let no_keyid = edit(&good, |e| e["signatures"][0]["keyid"] = "".into());
        assert_eq!(open_envelope(&no_keyid, "t", &v).unwrap(), b"body");
        let mut sig =
            BASE64.decode(serde_json::from_str::<Envelope>(&good).unwrap().signatures[0].sig.clone()).unwrap();
        sig[3] ^= 1;
        let flipped = edit(&good, |e| e["signatures"][0]["sig"] = BASE64.encode(&sig).into());
        assert_eq!(open_envelope(&flipped, "t", &v).unwrap_err().kind(), ErrorKind::AuditTampered);
        // A bad signature of our key beside a good one rejects the envelope.
        let both = edit(&good, |e| {
            let good_sig = e["signatures"][0].clone();
            e["signatures"] = serde_json::json!([good_sig, {"keyid": v.to_string(), "sig": BASE64.encode(&sig)}]);
        });
        assert_eq!(open_envelope(&both, "t", &v).unwrap_err().kind(), ErrorKind::AuditTampered);
        for bad in
            ["", "{}", "[]", &good.replace("payload\"", "payloads\""), &edit(&good, |e| e["payload"] = "!".into())]
        {
            assert_eq!(open_envelope(bad, "t", &v).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }
}
