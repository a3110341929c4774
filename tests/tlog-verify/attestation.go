package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log"
	"net/http"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"
	"golang.org/x/mod/sumdb/tlog"
)

// statement is the in-toto Statement v1 of a fleetgov attestation.
type statement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Cluster string `json:"cluster"`
		T       int64  `json:"t"`
		Desired *struct {
			Snapshot string `json:"snapshot"`
			Hash     string `json:"hash"`
		} `json:"desired"`
		Checkpoint struct {
			Origin string `json:"origin"`
			Size   int64  `json:"size"`
			Root   string `json:"root"`
		} `json:"checkpoint"`
	} `json:"predicate"`
}

// ed25519Key turns a verifier key `<name>+<key id>+<base64(0x01 || key)>`
// into the securesystemslib ed25519 key it holds, named by the whole text.
func ed25519Key(verifierKey string) *signerverifier.SSLibKey {
	parts := strings.SplitN(verifierKey, "+", 3)
	if len(parts) != 3 {
		log.Fatalf("verifier key %q", verifierKey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x01 {
		log.Fatalf("verifier key %q is not an ed25519 key", verifierKey)
	}
	return &signerverifier.SSLibKey{
		KeyType: "ed25519",
		Scheme:  "ed25519",
		KeyID:   verifierKey,
		KeyVal:  signerverifier.KeyVal{Public: hex.EncodeToString(raw[1:])},
	}
}

// checkAttestation fetches the attestation of cluster and checks it with
// go-securesystemslib's DSSE verifier and the served verifier key; that it
// is an in-toto statement of the cluster's nodes; and, with sumdb/tlog, that
// the audit checkpoint it states is the root of a prefix of the signed log
// (size n, hashes from the authenticated tiles). It returns the node count.
func checkAttestation(cluster, verifierKey, origin string, n int64, reader tlog.HashReader) int {
	req, err := http.NewRequest("GET", *base+"/api/v1/attestations?cluster="+cluster, nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/vnd.dsse+json" {
		log.Fatalf("attestation of %s: %s, %q", cluster, resp.Status, ct)
	}
	var envelope dsse.Envelope
	if err := json.NewDecoder(resp.Body).Decode(&envelope); err != nil {
		log.Fatalf("attestation of %s: %v", cluster, err)
	}
	key, err := signerverifier.NewED25519SignerVerifierFromSSLibKey(ed25519Key(verifierKey))
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := dsse.NewEnvelopeVerifier(key)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	accepted, body, err := verifier.VerifyAndDecode(ctx, &envelope)
	if err != nil || len(accepted) != 1 || accepted[0].KeyID != verifierKey {
		log.Fatalf("attestation of %s: the DSSE signature does not verify: %v", cluster, err)
	}
	if envelope.PayloadType != "application/vnd.in-toto+json" {
		log.Fatalf("attestation of %s: payload type %q", cluster, envelope.PayloadType)
	}
	// The signature covers the payload type and the payload.
	for _, tampered := range []dsse.Envelope{
		{PayloadType: "application/json", Payload: envelope.Payload, Signatures: envelope.Signatures},
		{PayloadType: envelope.PayloadType, Payload: base64.StdEncoding.EncodeToString(append(body, ' ')), Signatures: envelope.Signatures},
	} {
		if _, err := verifier.Verify(ctx, &tampered); err == nil {
			log.Fatalf("attestation of %s: a tampered envelope verified", cluster)
		}
	}

	var s statement
	if err := json.Unmarshal(body, &s); err != nil {
		log.Fatalf("attestation of %s: %v", cluster, err)
	}
	if s.Type != "https://in-toto.io/Statement/v1" || s.PredicateType != "https://fleetgov.dev/attestation/v1" ||
		s.Predicate.Cluster != cluster || len(s.Subject) == 0 || s.Predicate.Desired == nil {
		log.Fatalf("attestation of %s: unexpected statement %s", cluster, body)
	}
	for _, sub := range s.Subject {
		digest, err := hex.DecodeString(sub.Digest["blake3"])
		if !strings.HasPrefix(sub.Name, cluster+"/") || err != nil || len(digest) != 32 || len(sub.Digest) != 1 {
			log.Fatalf("attestation of %s: subject %+v", cluster, sub)
		}
	}
	cp := s.Predicate.Checkpoint
	if cp.Origin != origin || cp.Size < 1 || cp.Size > n {
		log.Fatalf("attestation of %s: checkpoint %+v outside the signed log of %d records", cluster, cp, n)
	}
	root, err := tlog.TreeHash(cp.Size, reader)
	if err != nil {
		log.Fatal(err)
	}
	if base64.StdEncoding.EncodeToString(root[:]) != cp.Root {
		log.Fatalf("attestation of %s: its checkpoint root is not the log's root at size %d", cluster, cp.Size)
	}
	return len(s.Subject)
}
