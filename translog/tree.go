package translog

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// hasher is RFC 6962's: SHA-256, 0x00 before a leaf and 0x01 before two children.
var hasher = rfc6962.DefaultHasher

// Ranges makes the compact ranges with which the sequencer and the audit grow a tree.
var Ranges = &compact.RangeFactory{Hash: hasher.HashChildren}

// NodeSource returns the hashes of perfect-subtree nodes of the log, aligned to ids; a node it does not
// hold is an error.
type NodeSource func(ctx context.Context, ids []compact.NodeID) ([][]byte, error)

// InclusionProof returns the RFC 6962 audit path of leaf index in the tree of the given size.
func InclusionProof(ctx context.Context, index, size uint64, nodes NodeSource) ([][]byte, error) {
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return rehash(ctx, n, nodes)
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size2 extends the tree of size1.
func ConsistencyProof(ctx context.Context, size1, size2 uint64, nodes NodeSource) ([][]byte, error) {
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return rehash(ctx, n, nodes)
}

func rehash(ctx context.Context, n proof.Nodes, nodes NodeSource) ([][]byte, error) {
	hashes, err := nodes(ctx, n.IDs)
	if err != nil {
		return nil, err
	}
	return n.Rehash(hashes, hasher.HashChildren)
}

// VerifyInclusion checks an inclusion proof of the leaf hash at index against the root of a tree of size.
func VerifyInclusion(index, size uint64, leafHash []byte, p [][]byte, root []byte) error {
	return proof.VerifyInclusion(hasher, index, size, leafHash, p, root)
}

// VerifyConsistency checks that the tree (size2, root2) extends the tree (size1, root1).
func VerifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	return proof.VerifyConsistency(hasher, size1, size2, p, root1, root2)
}

// EmptyRoot is the root hash of the empty tree.
func EmptyRoot() []byte { return hasher.EmptyRoot() }

// MemoryTree is a tree held as its leaf hashes alone, for the audit and for tests: every node is
// recomputed from the leaves it covers.
type MemoryTree struct{ Leaves [][]byte }

// Root returns the root hash of the tree of the first size leaves.
func (t *MemoryTree) Root(size uint64) ([]byte, error) {
	if size > uint64(len(t.Leaves)) {
		return nil, fmt.Errorf("tree of %d leaves has no size %d", len(t.Leaves), size)
	}
	if size == 0 {
		return EmptyRoot(), nil
	}
	r := Ranges.NewEmptyRange(0)
	for _, h := range t.Leaves[:size] {
		if err := r.Append(h, nil); err != nil {
			return nil, err
		}
	}
	return r.GetRootHash(nil)
}

// Nodes is the tree's NodeSource.
func (t *MemoryTree) Nodes(_ context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		begin, end := id.Coverage()
		if end > uint64(len(t.Leaves)) {
			return nil, fmt.Errorf("node %+v is beyond the tree's %d leaves", id, len(t.Leaves))
		}
		r := Ranges.NewEmptyRange(begin)
		for _, h := range t.Leaves[begin:end] {
			if err := r.Append(h, nil); err != nil {
				return nil, err
			}
		}
		out[i] = r.Hashes()[0]
	}
	return out, nil
}
