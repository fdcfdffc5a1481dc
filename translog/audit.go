package translog

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"time"
)

// LoggedLeaf is one row of the log's tree state: the access record that leaf Index was given to, and the
// leaf hash the log stored for it (nil when the tree state lacks it).
type LoggedLeaf struct {
	Index    uint64
	RecordID int64
	Hash     []byte
}

// RecordHash is an access record as the database holds it now: its leaf hash recomputed from its
// columns, and the hash written with it at insert (nil for records written before the log existed).
type RecordHash struct {
	ID         int64
	At         time.Time
	Hash       []byte
	InsertHash []byte
}

// ProblemKind says what went wrong with a leaf or the tree.
type ProblemKind string

// The problems an audit reports. Each names the leaf index and access record it concerns, where there is
// one.
const (
	// Altered: the record's columns no longer hash to the leaf the log holds for it.
	Altered ProblemKind = "altered"
	// Removed: the log has a leaf for a record that is gone.
	Removed ProblemKind = "removed"
	// Reordered: the record at a leaf hashes to another leaf's hash: records (or their leaf indexes) were
	// swapped.
	Reordered ProblemKind = "reordered"
	// Unlogged: a committed record older than the sequencing horizon has no leaf.
	Unlogged ProblemKind = "unlogged"
	// TreeState: the stored tree state is incomplete or does not reproduce a signed checkpoint.
	TreeState ProblemKind = "tree-state"
	// CheckpointMismatch: the records in the database do not reproduce a signed checkpoint's root.
	CheckpointMismatch ProblemKind = "checkpoint"
)

// Problem is one finding of an audit.
type Problem struct {
	Kind     ProblemKind
	Leaf     int64 // -1 when the problem is not about one leaf
	RecordID int64 // 0 when unknown
	Detail   string
}

func (p Problem) String() string {
	switch {
	case p.Leaf >= 0 && p.RecordID != 0:
		return fmt.Sprintf("%-10s leaf %d (access record %d): %s", p.Kind, p.Leaf, p.RecordID, p.Detail)
	case p.Leaf >= 0:
		return fmt.Sprintf("%-10s leaf %d: %s", p.Kind, p.Leaf, p.Detail)
	case p.RecordID != 0:
		return fmt.Sprintf("%-10s access record %d: %s", p.Kind, p.RecordID, p.Detail)
	}
	return fmt.Sprintf("%-10s %s", p.Kind, p.Detail)
}

// Report is the outcome of an audit: what was checked and every problem found. A log is intact when
// Problems is empty.
type Report struct {
	Leaves      int // leaves in the stored tree state
	Records     int // access records in the database
	Pending     int // committed records younger than the horizon, not yet sequenced
	Checkpoints []Checkpoint
	Problems    []Problem
}

// Audit recomputes the log from the database's access records and checks it against the stored tree
// state and against every checkpoint (which the caller has verified against the log's public key).
// leaves must be in leaf index order. A committed record without a leaf is a problem once it is older
// than horizon before now (the sequencer had time to see it); a younger one is pending.
func Audit(leaves []LoggedLeaf, records map[int64]RecordHash, checkpoints []Checkpoint, now time.Time, horizon time.Duration) *Report {
	rep := &Report{Leaves: len(leaves), Records: len(records), Checkpoints: checkpoints}
	add := func(kind ProblemKind, leaf int64, record int64, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Kind: kind, Leaf: leaf, RecordID: record, Detail: fmt.Sprintf(format, args...)})
	}
	sort.Slice(checkpoints, func(i, j int) bool { return checkpoints[i].Size < checkpoints[j].Size })

	// The stored tree state: contiguous, and reproducing every checkpoint it reaches.
	stored := &MemoryTree{}
	storedAt := map[string]int64{} // leaf hash -> first leaf index holding it
	logged := map[int64]bool{}
	for i, l := range leaves {
		if l.Index != uint64(i) {
			add(TreeState, int64(i), 0, "the tree state has no leaf %d (next stored leaf is %d): leaves were removed from the log itself", i, l.Index)
			break
		}
		stored.Leaves = append(stored.Leaves, l.Hash)
		if _, ok := storedAt[string(l.Hash)]; !ok {
			storedAt[string(l.Hash)] = int64(i)
		}
		logged[l.RecordID] = true
	}
	for _, c := range checkpoints {
		if c.Size > uint64(len(stored.Leaves)) {
			add(TreeState, -1, 0, "checkpoint of size %d is beyond the %d leaves of the stored tree: leaves %d to %d were removed",
				c.Size, len(stored.Leaves), len(stored.Leaves), c.Size-1)
			continue
		}
		if root, err := stored.Root(c.Size); err != nil || !bytes.Equal(root, c.Root) {
			add(TreeState, -1, 0, "the stored tree of size %d does not reproduce its signed checkpoint: the tree state was rewritten", c.Size)
		}
	}

	// Every leaf against the record it was given to.
	recomputed := &MemoryTree{}
	for i, h := range stored.Leaves {
		id := leaves[i].RecordID
		r, ok := records[id]
		switch {
		case !ok:
			add(Removed, int64(i), id, "the access record is gone from the database")
			continue
		case bytes.Equal(r.Hash, h):
		default:
			if j, ok := storedAt[string(r.Hash)]; ok && j != int64(i) {
				add(Reordered, int64(i), id, "the record now holds what leaf %d holds: records or leaf indexes were swapped", j)
			} else {
				add(Altered, int64(i), id, "the record's columns no longer match the leaf the log holds (leaf hash %s, record hashes to %s)",
					b64(h), b64(r.Hash))
			}
		}
		recomputed.Leaves = append(recomputed.Leaves, r.Hash)
	}

	// The tree the database's records make now, against every checkpoint: this is what an outsider's
	// checkpoint catches even when the tree state was rewritten to match the records.
	lastGood := uint64(0)
	for _, c := range checkpoints {
		if c.Size > uint64(len(recomputed.Leaves)) {
			add(CheckpointMismatch, -1, 0, "the database's records make a tree of %d leaves, smaller than the checkpoint of size %d", len(recomputed.Leaves), c.Size)
			continue
		}
		root, err := recomputed.Root(c.Size)
		if err != nil || !bytes.Equal(root, c.Root) {
			add(CheckpointMismatch, -1, 0, "the database's records do not reproduce the signed checkpoint of size %d (root %s); the last checkpoint they reproduce has size %d",
				c.Size, b64(c.Root), lastGood)
			continue
		}
		lastGood = c.Size
	}

	// Records the log never took in, and records changed between insert and sequencing.
	var unlogged []RecordHash
	for id, r := range records {
		if r.InsertHash != nil && !bytes.Equal(r.InsertHash, r.Hash) && !logged[id] {
			add(Altered, -1, id, "the record's columns no longer match the leaf hash written with it")
		}
		if logged[id] {
			continue
		}
		if now.Sub(r.At) < horizon {
			rep.Pending++
			continue
		}
		unlogged = append(unlogged, r)
	}
	sort.Slice(unlogged, func(i, j int) bool { return unlogged[i].ID < unlogged[j].ID })
	for _, r := range unlogged {
		add(Unlogged, -1, r.ID, "written at %s and never given a leaf", r.At.UTC().Format(time.RFC3339))
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool {
		a, b := rep.Problems[i], rep.Problems[j]
		if (a.Leaf < 0) != (b.Leaf < 0) {
			return a.Leaf >= 0
		}
		return a.Leaf < b.Leaf
	})
	return rep
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
