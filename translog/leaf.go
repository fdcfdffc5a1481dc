package translog

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/lindung/lindung"
)

// LeafVersion names the leaf encoding; a change to Encode needs a new version, or old leaves would no
// longer verify.
const LeafVersion = 1

// Leaf is an access record as the log hashes it: every column of the record except the database's row
// id, which is not known before the insert and is not part of what was disclosed. Lists hold the values
// in the order the database stores them; UUIDs are in their canonical lower-case text form.
type Leaf struct {
	At            time.Time
	RequestID     string
	UserID        string // "" when the user was not registered with the hub
	Username      string
	PartnerID     string
	Roles         []string
	Purpose       string
	VictimID      string
	Disclosed     []string
	Withheld      []string
	PolicyVersion string
	OperationName string
}

// leafJSON fixes the key order and names of the encoding: Go encodes struct fields in declaration order.
type leafJSON struct {
	V             int      `json:"v"`
	At            string   `json:"at"`
	RequestID     string   `json:"request_id"`
	UserID        string   `json:"user_id"`
	Username      string   `json:"username"`
	PartnerID     string   `json:"partner_id"`
	Roles         []string `json:"roles"`
	Purpose       string   `json:"purpose"`
	VictimID      string   `json:"victim_id"`
	Disclosed     []string `json:"disclosed"`
	Withheld      []string `json:"withheld"`
	PolicyVersion string   `json:"policy_version"`
	OperationName string   `json:"operation_name"`
}

// TimeFormat is how a leaf writes its time: UTC to the microsecond, PostgreSQL's precision, so that the
// time read back from the database encodes to the same bytes as the time written.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Encode returns the leaf's canonical encoding: one compact JSON object, keys in a fixed order, no HTML
// escaping, no trailing newline, lists never null. It is the byte string the log hashes, and what a
// verifier recomputes by hand (docs/audit-log.md shows how).
func (l Leaf) Encode() []byte {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding a struct of strings and string slices cannot fail.
	_ = enc.Encode(leafJSON{V: LeafVersion, At: l.At.UTC().Format(TimeFormat), RequestID: l.RequestID, UserID: l.UserID,
		Username: l.Username, PartnerID: l.PartnerID, Roles: nonNil(l.Roles), Purpose: l.Purpose, VictimID: l.VictimID,
		Disclosed: nonNil(l.Disclosed), Withheld: nonNil(l.Withheld), PolicyVersion: l.PolicyVersion, OperationName: l.OperationName})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Hash returns the leaf's RFC 6962 leaf hash, SHA-256(0x00 || Encode()).
func (l Leaf) Hash() []byte { return HashLeaf(l.Encode()) }

// HashLeaf is the RFC 6962 leaf hash of an encoded leaf.
func HashLeaf(encoded []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(encoded) }

// SplitList is how the store turns a comma-joined list back into the array the database stores
// (string_to_array(s, ',')): the empty string is the empty list.
func SplitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// LeafOf returns the leaf of r as the database will store it, at the time at: the store joins lists with
// commas and the database splits them again, and UUIDs come back lower-case.
func LeafOf(r *lindung.AccessRecord, at time.Time) Leaf {
	return Leaf{At: at, RequestID: r.RequestID, UserID: strings.ToLower(r.UserID), Username: r.Username,
		PartnerID: strings.ToLower(r.PartnerID), Roles: SplitList(strings.Join(r.Roles, ",")), Purpose: string(r.Purpose),
		VictimID: strings.ToLower(r.VictimID), Disclosed: SplitList(strings.Join(r.Disclosed.Names(), ",")),
		Withheld: SplitList(strings.Join(r.Withheld.Names(), ",")), PolicyVersion: r.PolicyVersion, OperationName: r.OperationName}
}
