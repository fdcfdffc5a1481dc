package lindung

import (
	"context"
	"time"
)

// AccessRecord is one line of the audit: the disclosure of one victim's data in one response. The table
// that holds them is append-only; a victim's "who saw my data" report is read from it.
type AccessRecord struct {
	At time.Time
	Accessor
	VictimAccess
}

// Accessor is who disclosed, in which request and under which policy: what every access record of a
// request shares.
type Accessor struct {
	RequestID     string
	UserID        string
	Username      string
	PartnerID     string
	Roles         []string
	Purpose       Purpose
	PolicyVersion string
	OperationName string
}

// VictimAccess is one victim's part of an access record: whose data, and which categories of it were
// disclosed and withheld.
type VictimAccess struct {
	VictimID  string
	Disclosed CategorySet
	Withheld  CategorySet
}

// RequestAccess is what one request disclosed, as the store writes it: the accessor once, and each victim's
// part. It is written as one AccessRecord per victim (Record). Holding the accessor once makes a mixed batch
// impossible and lets the store send it once instead of once per victim.
type RequestAccess struct {
	Accessor
	Victims []VictimAccess
}

// Record returns the access record of the request's i-th victim.
func (a *RequestAccess) Record(i int) *AccessRecord {
	return &AccessRecord{Accessor: a.Accessor, VictimAccess: a.Victims[i]}
}

// Disclosure is a line of a victim's disclosure report, phrased for reading out to the victim.
type Disclosure struct {
	At          time.Time
	PartnerName string
	PartnerType PartnerType
	Purpose     Purpose
	Categories  CategorySet
	// EmergencyReason is the reason of the emergency grant the access was made under; nil for any
	// access not made in an emergency.
	EmergencyReason *string
}

// AuditEntry is one access record as a leaf of the transparency log: the record, its canonical encoding
// and leaf hash (what a verifier recomputes), and the leaf index the sequencer gave it.
type AuditEntry struct {
	RecordID int64
	Record   AccessRecord
	// LeafIndex is the record's position in the log; nil while the record awaits the sequencer.
	LeafIndex *int64
	Leaf      []byte
	LeafHash  []byte
}

// AuditCheckpoint is a signed commitment to the first TreeSize leaves of the access log. Note is the
// signed note verbatim: what a partner keeps, and later checks a consistency proof against.
type AuditCheckpoint struct {
	Origin      string
	TreeSize    int64
	RootHash    []byte
	Note        string
	PublishedAt time.Time
}

// AuditProof is an RFC 6962 inclusion proof (of LeafIndex in the tree of TreeSize) or consistency proof
// (that the tree of TreeSize extends the tree of FromSize): the hashes, in the RFC's order.
type AuditProof struct {
	LeafIndex *int64 // inclusion proofs only
	FromSize  *int64 // consistency proofs only
	TreeSize  int64
	Hashes    [][]byte
}

// AuditLog is the access log's read side for a request: proofs are built from the log's stored tree
// state, in the request's transaction.
type AuditLog interface {
	// FindAuditEntries returns the access records of a victim visible to the request, oldest first, as
	// log entries; a victim out of scope is ErrNotFound.
	FindAuditEntries(ctx context.Context, victimID string) ([]*AuditEntry, error)
	// LatestCheckpoint returns the newest signed checkpoint, nil when none was published yet.
	LatestCheckpoint(ctx context.Context) (*AuditCheckpoint, error)
	// AuditInclusionProof proves leaf index is in the tree of treeSize (at most the latest checkpoint's).
	AuditInclusionProof(ctx context.Context, index, treeSize int64) (*AuditProof, error)
	// AuditConsistencyProof proves the tree of toSize extends the tree of fromSize.
	AuditConsistencyProof(ctx context.Context, fromSize, toSize int64) (*AuditProof, error)
}

// CheckpointPublisher sequences the committed access records now and publishes a checkpoint of them,
// for a caller that needs its own records covered before the next scheduled checkpoint.
type CheckpointPublisher interface {
	PublishCheckpoint(ctx context.Context) error
}
