package server_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
	"github.com/lindung/lindung/translog"
)

// TestAuditLogOverGraphQL: a protection officer views a victim, asks for a fresh checkpoint, and proves
// with the victim's log entries that the view is in the signed log, and that the log extends its first
// checkpoint. Every authenticated caller may fetch the checkpoint; for every other role, the victim's
// entries do not exist (exactly like a victim that does not exist) and consistency proofs are refused.
func TestAuditLogOverGraphQL(t *testing.T) {
	key, _, err := translog.NewKey("test.example/access-log")
	if err != nil {
		t.Fatal(err)
	}
	h := newHubWith(t, func(c *server.Config) {
		c.Checkpoints = &server.Sequencer{DB: c.DB, Key: key, Interval: time.Hour, Logger: c.Logger}
	})
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	b64 := base64.StdEncoding

	type checkpoint struct {
		Origin, RootHash, Note string
		TreeSize               int
	}
	cpQuery := `query($fresh: Boolean) { auditCheckpoint(fresh: $fresh) { origin treeSize rootHash note publishedAt } }`
	fetch := func(token string, fresh bool) checkpoint {
		t.Helper()
		res := h.do(request{Token: token, Query: cpQuery, Variables: map[string]any{"fresh": fresh}})
		var d struct{ AuditCheckpoint *checkpoint }
		mustDecode(t, res.Data, &d)
		if len(res.Errors) > 0 || d.AuditCheckpoint == nil {
			t.Fatalf("auditCheckpoint: %s", res.Body)
		}
		return *d.AuditCheckpoint
	}
	h.do(request{Token: officer, Query: `query($id: ID!) { victim(id: $id) { caseRef } }`, Variables: map[string]any{"id": v.ID}})
	first := fetch(officer, true)

	rid := newRequestID()
	h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), Query: `query($id: ID!) { victim(id: $id) { caseRef legalName } }`,
		Variables: map[string]any{"id": v.ID}, RequestID: rid})
	cp := fetch(officer, true)
	signed, err := translog.Open([]byte(cp.Note), key.Verifier())
	if err != nil || int(signed.Size) != cp.TreeSize || b64.EncodeToString(signed.Root) != cp.RootHash || cp.Origin != "test.example/access-log" {
		t.Fatalf("the checkpoint does not verify against the log key (%v): %+v", err, cp)
	}
	if cp.TreeSize <= first.TreeSize {
		t.Fatalf("a fresh checkpoint of %d leaves does not cover the view after the checkpoint of %d", cp.TreeSize, first.TreeSize)
	}

	entriesQuery := `query($id: ID!) { auditEntries(victimId: $id) { leafIndex at partnerId username purpose disclosed withheld leaf leafHash
		inclusionProof { leafIndex treeSize hashes } } }`
	res := h.do(request{Token: officer, Query: entriesQuery, Variables: map[string]any{"id": v.ID}})
	var d struct {
		AuditEntries []struct {
			LeafIndex      *int
			Username, Leaf string
			LeafHash       string
			Withheld       []string
			InclusionProof *struct {
				LeafIndex, TreeSize int
				Hashes              []string
			}
		}
	}
	mustDecode(t, res.Data, &d)
	proved := false
	for _, e := range d.AuditEntries {
		leaf, _ := b64.DecodeString(e.Leaf)
		if b64.EncodeToString(translog.HashLeaf(leaf)) != e.LeafHash {
			t.Errorf("leaf %v: the leaf hash is not the hash of the leaf", e.LeafIndex)
		}
		if e.LeafIndex == nil || e.InclusionProof == nil {
			t.Errorf("entry without a leaf after a fresh checkpoint: %+v", e)
			continue
		}
		var hashes [][]byte
		for _, x := range e.InclusionProof.Hashes {
			hb, _ := b64.DecodeString(x)
			hashes = append(hashes, hb)
		}
		if err := translog.VerifyInclusion(uint64(*e.LeafIndex), signed.Size, translog.HashLeaf(leaf), hashes, signed.Root); err != nil {
			t.Errorf("inclusion proof of leaf %d: %v", *e.LeafIndex, err)
		}
		if e.Username == demo.DemoUsername(demo.RoleEnforcementOfficer, demo.SlugPDRM) && sameStrings(e.Withheld, []string{"IDENTITY"}) {
			proved = true
		}
	}
	if !proved {
		t.Errorf("no proved entry of the enforcement officer's view: %s", res.Body)
	}

	consistency := `query($from: Int!) { auditConsistency(fromSize: $from) { fromSize treeSize hashes } }`
	res = h.do(request{Token: officer, Query: consistency, Variables: map[string]any{"from": first.TreeSize}})
	var c struct {
		AuditConsistency struct {
			FromSize, TreeSize int
			Hashes             []string
		}
	}
	mustDecode(t, res.Data, &c)
	firstRoot, _ := b64.DecodeString(first.RootHash)
	var hashes [][]byte
	for _, x := range c.AuditConsistency.Hashes {
		hb, _ := b64.DecodeString(x)
		hashes = append(hashes, hb)
	}
	if err := translog.VerifyConsistency(uint64(first.TreeSize), signed.Size, hashes, firstRoot, signed.Root); err != nil {
		t.Errorf("consistency proof: %v (%s)", err, res.Body)
	}

	for _, caller := range allCallers {
		if caller.Role == demo.RoleProtectionOfficer {
			continue
		}
		token := h.token(caller.Partner, caller.Role)
		if got := fetch(token, false); got.TreeSize < cp.TreeSize {
			t.Errorf("%s: checkpoint of %d leaves, want at least %d", caller, got.TreeSize, cp.TreeSize)
		}
		real := h.do(request{Token: token, Query: entriesQuery, Variables: map[string]any{"id": v.ID}})
		fake := h.do(request{Token: token, Query: entriesQuery, Variables: map[string]any{"id": randomUUID()}})
		if real.Code() != "NOT_FOUND" || string(real.Body) != string(fake.Body) {
			t.Errorf("%s: audit entries of a victim: %s (random id: %s)", caller, real.Body, fake.Body)
		}
		if res := h.do(request{Token: token, Query: consistency, Variables: map[string]any{"from": 1}}); res.Code() != "FORBIDDEN" {
			t.Errorf("%s: consistency proof: %s", caller, res.Body)
		}
	}
	if res := h.do(request{Query: cpQuery}); res.Status != 401 {
		t.Errorf("a checkpoint without a token: %d %s", res.Status, res.Body)
	}
}

// TestFreshCheckpointWithoutSequencer: a hub configured without a sequencer says so when asked for a fresh
// checkpoint, rather than answering with a stale one as if it were fresh.
func TestFreshCheckpointWithoutSequencer(t *testing.T) {
	h := newHub(t)
	res := h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer), Query: `{ auditCheckpoint(fresh: true) { treeSize } }`})
	if res.Code() != "UNAVAILABLE" {
		t.Errorf("fresh checkpoint without a sequencer: %s", res.Body)
	}
	if res := h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer), Query: `{ auditCheckpoint { treeSize } }`}); len(res.Errors) > 0 {
		t.Errorf("latest checkpoint without a sequencer: %s", res.Body)
	}
}
