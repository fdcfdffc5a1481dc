package translog

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// TimeFormat is how a leaf writes its time: UTC to the microsecond, PostgreSQL's precision, so that the
// time read back from the database encodes to the same bytes as the time written.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Encode returns the leaf's canonical encoding: one compact JSON object with the keys v, at, request_id,
// user_id, username, partner_id, roles, purpose, victim_id, disclosed, withheld, policy_version and
// operation_name in that order, strings escaped as Go's encoding/json escapes them without HTML escaping,
// no trailing newline, lists never null. It is the byte string the log hashes, and what a verifier
// recomputes by hand (docs/audit-log.md shows how). It is written by hand, not by encoding/json, because
// every access record of every request is encoded: this way it costs one allocation
// (leaf_test.go checks it against encoding/json).
func (l Leaf) Encode() []byte {
	e := encoder{b: make([]byte, 0, 512)}
	e.header(l.At, l.RequestID, l.UserID, l.Username, l.PartnerID)
	e.strings(l.Roles)
	e.middle(l.Purpose, l.VictimID)
	e.strings(l.Disclosed)
	e.key("withheld")
	e.strings(l.Withheld)
	e.footer(l.PolicyVersion, l.OperationName)
	return e.b
}

// HashAccess returns the leaf hashes of a request's access records as the database will store them at
// the time at, 32 bytes per victim in a's order, without building a Leaf: each is the hash of the leaf
// whose lists are the record's joined with commas and split again (the store sends them joined, the
// database splits them with string_to_array) and whose UUIDs are lower case. The store calls it for
// every request it records; the sequencer checks each hash against the record read back. The part every
// record of the request shares is encoded once.
func HashAccess(a *lindung.RequestAccess, at time.Time) []byte {
	e := encoder{b: make([]byte, 1, 512)} // the leading 0x00 of RFC 6962's leaf hash
	e.header(at, a.RequestID, strings.ToLower(a.UserID), a.Username, strings.ToLower(a.PartnerID))
	e.joined(a.Roles)
	shared := len(e.b)
	sums := make([]byte, 0, sha256.Size*len(a.Victims))
	for _, v := range a.Victims {
		e.b = e.b[:shared]
		e.middle(string(a.Purpose), strings.ToLower(v.VictimID))
		e.categories(v.Disclosed)
		e.key("withheld")
		e.categories(v.Withheld)
		e.footer(a.PolicyVersion, a.OperationName)
		sum := sha256.Sum256(e.b)
		sums = append(sums, sum[:]...)
	}
	return sums
}

// encoder appends a leaf's encoding to b, one field at a time.
type encoder struct{ b []byte }

func (e *encoder) key(k string) {
	e.b = append(e.b, ',', '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *encoder) field(k, v string) {
	e.key(k)
	e.str(v)
}

func (e *encoder) header(at time.Time, requestID, userID, username, partnerID string) {
	e.b = append(e.b, `{"v":`...)
	e.b = strconv.AppendInt(e.b, LeafVersion, 10)
	e.key("at")
	e.b = append(e.b, '"')
	e.b = at.UTC().AppendFormat(e.b, TimeFormat)
	e.b = append(e.b, '"')
	e.field("request_id", requestID)
	e.field("user_id", userID)
	e.field("username", username)
	e.field("partner_id", partnerID)
	e.key("roles")
}

func (e *encoder) middle(purpose, victimID string) {
	e.field("purpose", purpose)
	e.field("victim_id", victimID)
	e.key("disclosed")
}

func (e *encoder) footer(policyVersion, operationName string) {
	e.field("policy_version", policyVersion)
	e.field("operation_name", operationName)
	e.b = append(e.b, '}')
}

// strings appends a list of strings.
func (e *encoder) strings(list []string) {
	e.b = append(e.b, '[')
	for i, s := range list {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(s)
	}
	e.b = append(e.b, ']')
}

// joined appends list as the database stores it: the store joins it with commas and the database splits
// it again (string_to_array), so an empty join is the empty list.
func (e *encoder) joined(list []string) {
	if len(list) == 0 || len(list) == 1 && list[0] == "" {
		e.b = append(e.b, '[', ']')
		return
	}
	e.b = append(e.b, '[')
	first := true
	for _, s := range list {
		for {
			part, rest, more := strings.Cut(s, ",")
			if !first {
				e.b = append(e.b, ',')
			}
			first = false
			e.str(part)
			if !more {
				break
			}
			s = rest
		}
	}
	e.b = append(e.b, ']')
}

// categories appends the names of a category set, in the order the store writes them.
func (e *encoder) categories(set lindung.CategorySet) {
	e.b = append(e.b, '[')
	first := true
	for c := lindung.Category(0); lindung.SetOf(c)&lindung.AllCategories != 0; c++ {
		if !set.Has(c) {
			continue
		}
		if !first {
			e.b = append(e.b, ',')
		}
		first = false
		e.str(c.String())
	}
	e.b = append(e.b, ']')
}

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string, escaped as encoding/json escapes it with HTML escaping off: quote,
// backslash and control characters (\b, \f, \n, \r, \t by name, the others as \u00XX), U+2028 and U+2029
// as \u2028 and \u2029, and each byte of invalid UTF-8 as \ufffd.
func (e *encoder) str(s string) {
	e.b = append(e.b, '"')
	for len(s) > 0 {
		c := s[0]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			e.b = append(e.b, c)
			s = s[1:]
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				e.b = append(e.b, '\\', c)
			case '\b':
				e.b = append(e.b, '\\', 'b')
			case '\f':
				e.b = append(e.b, '\\', 'f')
			case '\n':
				e.b = append(e.b, '\\', 'n')
			case '\r':
				e.b = append(e.b, '\\', 'r')
			case '\t':
				e.b = append(e.b, '\\', 't')
			default:
				e.b = append(e.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			s = s[1:]
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			e.b = append(e.b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			e.b = append(e.b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			e.b = append(e.b, s[:size]...)
		}
		s = s[size:]
	}
	e.b = append(e.b, '"')
}

// Hash returns the leaf's RFC 6962 leaf hash, SHA-256(0x00 || Encode()).
func (l Leaf) Hash() []byte { return HashLeaf(l.Encode()) }

// HashLeaf is the RFC 6962 leaf hash of an encoded leaf.
func HashLeaf(encoded []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(encoded) }
