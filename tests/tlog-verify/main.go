// Command tlog-verify checks a running fleet server's audit log with Go's
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog only: none of
// fleetgov's own code takes part in the checks.
//
//	go run . -url http://127.0.0.1:8080 -token <operator token of every workspace>
//
// It checks the served checkpoint with the served verifier key; grows the
// log with justified force syncs past one full tile; reads every hash tile
// through tlog.TileHashReader (which authenticates each tile against the
// signed root) and every entry bundle against the level-0 hashes; checks
// the inclusion of records 0, a middle one and the last, both as proved
// from the tiles and as served in c2sp.org/tlog-proof@v1 bundles; and
// checks a served consistency proof between a checkpoint taken before and
// one taken after more appends. Then it checks an attestation (a DSSE
// envelope of an in-toto statement) with go-securesystemslib's dsse and
// ed25519 verifier, and its audit checkpoint against the tiles.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	base  = flag.String("url", "", "the fleet server's base URL")
	token = flag.String("token", "", "a bearer token of an operator of every workspace")
	grow  = flag.Int("grow", 300, "force syncs to append before the tile checks")
)

func fetch(method, path string, body []byte) []byte {
	req, err := http.NewRequest(method, *base+path, bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	if resp.StatusCode/100 != 2 {
		log.Fatalf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return data
}

func getJSON(path string, v any) {
	if err := json.Unmarshal(fetch("GET", path, nil), v); err != nil {
		log.Fatalf("GET %s: %v", path, err)
	}
}

// checkpoint is an opened C2SP checkpoint: origin, size and root.
type checkpoint struct {
	origin string
	tree   tlog.Tree
	text   string
}

// openCheckpoint verifies a signed checkpoint with note.Open and parses its
// text as c2sp.org/tlog-checkpoint (origin, decimal size, base64 root).
func openCheckpoint(signed []byte, verifiers note.Verifiers, origin string) checkpoint {
	n, err := note.Open(signed, verifiers)
	if err != nil {
		log.Fatalf("checkpoint signature: %v\n%s", err, signed)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 || lines[0] != origin {
		log.Fatalf("checkpoint text %q: want origin %q and three lines", n.Text, origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || strconv.FormatInt(size, 10) != lines[1] {
		log.Fatalf("checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		log.Fatalf("checkpoint root %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], root)
	return checkpoint{origin: lines[0], tree: tlog.Tree{N: size, Hash: h}, text: string(signed)}
}

// tiles reads C2SP tlog-tiles from /log/: the paths of Go's sumdb tiles
// without the height element (tile/8/L/N -> tile/L/N).
type tiles struct{}

func (tiles) Height() int { return 8 }

func (tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = fetch("GET", "/log/"+c2spPath(t), nil)
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func c2spPath(t tlog.Tile) string {
	return strings.Replace(t.Path(), "tile/8/", "tile/", 1)
}

func forceSync(i int) {
	body := fmt.Sprintf(`{"target":{"node":"gw-stage-eu-4"},"reason":"tlog-verify override %d: node re-provisioning"}`, i)
	fetch("POST", "/api/v1/force-sync", []byte(body))
}

// entries reads every entry bundle of a tree of size n.
func entries(n int64) [][]byte {
	var out [][]byte
	for start := int64(0); start < n; start += 256 {
		w := min(n-start, 256)
		t := tlog.Tile{H: 8, L: -1, N: start / 256, W: int(w)}
		path := "tile/entries/" + strings.TrimPrefix(c2spPath(t), "tile/data/")
		data := fetch("GET", "/log/"+path, nil)
		for k := int64(0); k < w; k++ {
			if len(data) < 2 || len(data) < 2+int(binary.BigEndian.Uint16(data)) {
				log.Fatalf("%s: entry %d is cut short", path, k)
			}
			l := int(binary.BigEndian.Uint16(data))
			out = append(out, data[2:2+l])
			data = data[2+l:]
		}
		if len(data) != 0 {
			log.Fatalf("%s: %d bytes after %d entries", path, len(data), w)
		}
	}
	return out
}

// servedProof checks GET /api/v1/audit/{seq}/proof: its entry, and its
// c2sp.org/tlog-proof@v1 bundle with the verifier key and tlog.CheckRecord.
func servedProof(seq int64, verifiers note.Verifiers, origin string, entry []byte) {
	var resp struct {
		Entry     string `json:"entry"`
		TlogProof string `json:"tlogProof"`
	}
	getJSON(fmt.Sprintf("/api/v1/audit/%d/proof", seq), &resp)
	served, err := base64.StdEncoding.DecodeString(resp.Entry)
	if err != nil || !bytes.Equal(served, entry) {
		log.Fatalf("record %d: the served entry is not the one in the entry bundle", seq)
	}
	head, cp, ok := strings.Cut(resp.TlogProof, "\n\n")
	lines := strings.Split(head, "\n")
	if !ok || lines[0] != "c2sp.org/tlog-proof@v1" || lines[1] != "index "+strconv.FormatInt(seq, 10) {
		log.Fatalf("record %d: malformed tlog proof %q", seq, resp.TlogProof)
	}
	var proof tlog.RecordProof
	for _, line := range lines[2:] {
		raw, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(raw) != tlog.HashSize {
			log.Fatalf("record %d: bad proof hash %q", seq, line)
		}
		var h tlog.Hash
		copy(h[:], raw)
		proof = append(proof, h)
	}
	c := openCheckpoint([]byte(cp), verifiers, origin)
	if err := tlog.CheckRecord(proof, c.tree.N, c.tree.Hash, seq, tlog.RecordHash(entry)); err != nil {
		log.Fatalf("record %d: served tlog proof: %v", seq, err)
	}
	proof[0][0] ^= 1
	if tlog.CheckRecord(proof, c.tree.N, c.tree.Hash, seq, tlog.RecordHash(entry)) == nil {
		log.Fatalf("record %d: a flipped proof bit was accepted", seq)
	}
}

func main() {
	flag.Parse()
	var meta struct {
		VerifierKey string `json:"verifierKey"`
		Origin      string `json:"origin"`
	}
	getJSON("/api/v1/checkpoint", &meta)
	verifier, err := note.NewVerifier(meta.VerifierKey)
	if err != nil {
		log.Fatalf("verifier key %q: %v", meta.VerifierKey, err)
	}
	verifiers := note.VerifierList(verifier)

	before := openCheckpoint(fetch("GET", "/log/checkpoint", nil), verifiers, meta.Origin)
	for i := 0; i < *grow; i++ {
		forceSync(i)
	}
	after := openCheckpoint(fetch("GET", "/log/checkpoint", nil), verifiers, meta.Origin)
	n := after.tree.N
	if n < before.tree.N+int64(*grow) || n <= 256 {
		log.Fatalf("the log grew from %d to %d records", before.tree.N, n)
	}

	// Every stored hash of the tree of size n, through tiles that
	// TileHashReader authenticates against the signed root.
	reader := tlog.TileHashReader(after.tree, tiles{})
	indexes := make([]int64, tlog.StoredHashCount(n))
	for i := range indexes {
		indexes[i] = int64(i)
	}
	if _, err := reader.ReadHashes(indexes); err != nil {
		log.Fatalf("tiles against the signed root: %v", err)
	}
	if root, err := tlog.TreeHash(n, reader); err != nil || root != after.tree.Hash {
		log.Fatalf("tree hash from the tiles: %v", err)
	}

	// Every entry hashes to its authenticated leaf.
	all := entries(n)
	leaves := make([]int64, n)
	for i := range leaves {
		leaves[i] = tlog.StoredHashIndex(0, int64(i))
	}
	hashes, err := reader.ReadHashes(leaves)
	if err != nil {
		log.Fatal(err)
	}
	for i, e := range all {
		if tlog.RecordHash(e) != hashes[i] {
			log.Fatalf("record %d: its entry does not hash to its leaf", i)
		}
	}

	// Inclusion of the first, a middle and the last record.
	for _, seq := range []int64{0, n / 2, n - 1} {
		proof, err := tlog.ProveRecord(n, seq, reader)
		if err != nil {
			log.Fatal(err)
		}
		if err := tlog.CheckRecord(proof, n, after.tree.Hash, seq, tlog.RecordHash(all[seq])); err != nil {
			log.Fatalf("record %d from the tiles: %v", seq, err)
		}
		servedProof(seq, verifiers, meta.Origin, all[seq])
	}

	// The log before the overrides is a prefix of the log after them.
	var consistency struct {
		OldSize int64    `json:"oldSize"`
		NewSize int64    `json:"newSize"`
		Path    []string `json:"path"`
	}
	getJSON(fmt.Sprintf("/api/v1/audit/consistency?from=%d&to=%d", before.tree.N, n), &consistency)
	var treeProof tlog.TreeProof
	for _, x := range consistency.Path {
		raw, err := hex.DecodeString(x)
		if err != nil || len(raw) != tlog.HashSize {
			log.Fatalf("consistency hash %q", x)
		}
		var h tlog.Hash
		copy(h[:], raw)
		treeProof = append(treeProof, h)
	}
	if err := tlog.CheckTree(treeProof, n, after.tree.Hash, before.tree.N, before.tree.Hash); err != nil {
		log.Fatalf("served consistency proof %d -> %d: %v", before.tree.N, n, err)
	}
	fromTiles, err := tlog.ProveTree(n, before.tree.N, reader)
	if err != nil {
		log.Fatal(err)
	}
	if err := tlog.CheckTree(fromTiles, n, after.tree.Hash, before.tree.N, before.tree.Hash); err != nil {
		log.Fatalf("consistency proof from the tiles: %v", err)
	}
	fmt.Printf("tlog-verify: checkpoint, every tile (%d stored hashes), %d entries, 3 inclusion proofs (from tiles and as tlog-proof bundles) and consistency %d -> %d verified with golang.org/x/mod/sumdb\n",
		len(indexes), len(all), before.tree.N, n)

	// The attestation: a DSSE envelope checked with go-securesystemslib,
	// whose audit checkpoint is a prefix of the log just verified.
	nodes := checkAttestation("gke-stage-eu", meta.VerifierKey, meta.Origin, n, reader)
	fmt.Printf("tlog-verify: the attestation of gke-stage-eu (%d nodes) verified with go-securesystemslib/dsse; its checkpoint is the log's root at its size\n", nodes)
}
