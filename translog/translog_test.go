package translog_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/translog"
)

// jsonLeaf is the leaf encoding as encoding/json writes it, the reference the hand-written encoder must match.
func jsonLeaf(l translog.Leaf) []byte {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
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
	}{1, l.At.UTC().Format(translog.TimeFormat), l.RequestID, l.UserID, l.Username, l.PartnerID, nonNil(l.Roles), l.Purpose,
		l.VictimID, nonNil(l.Disclosed), nonNil(l.Withheld), l.PolicyVersion, l.OperationName})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// FuzzLeafEncoding: the hand-written encoding is encoding/json's for any strings, valid UTF-8 or not.
func FuzzLeafEncoding(f *testing.F) {
	for _, s := range []string{"plain", "a<b>&\"c\"\\", "\x00\x01\b\f\n\r\t\x1f\x7f", "\u2028\u2029 ok é 日本",
		"\xff\xfe bad \xe2\x80", "🙂"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		l := translog.Leaf{At: time.Unix(1, 0), RequestID: a, Username: b, Roles: []string{a, b}, OperationName: a + b}
		if got, want := l.Encode(), jsonLeaf(l); !bytes.Equal(got, want) {
			t.Errorf("encoding of %q, %q:\n got %s\nwant %s", a, b, got, want)
		}
	})
}

// TestHashAccess: the hashes written at insert are the hashes of the leaves the database will hold, one
// per victim in order, lists joined and split again and UUIDs lower case, and a request's hashes cost a
// fixed number of allocations however many victims it disclosed.
func TestHashAccess(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 123456000, time.UTC)
	for _, a := range []*lindung.RequestAccess{
		{Accessor: lindung.Accessor{RequestID: "r", Username: "u", PartnerID: "ABC", UserID: "GH",
			Purpose: lindung.PurposeStatistics},
			Victims: []lindung.VictimAccess{{VictimID: "Def"}, {VictimID: "ghi", Disclosed: lindung.SetOf(lindung.Case)}}},
		{Accessor: lindung.Accessor{Roles: []string{""}, OperationName: "Op\n\u2028"},
			Victims: []lindung.VictimAccess{{Disclosed: lindung.AllCategories}}},
		{Accessor: lindung.Accessor{Roles: []string{"a,b", "", "c"}},
			Victims: []lindung.VictimAccess{{Withheld: lindung.SetOf(lindung.Health, lindung.Identity)},
				{VictimID: "x", Disclosed: lindung.SetOf(lindung.Identity), Withheld: lindung.SetOf(lindung.Family)}}},
		{Accessor: lindung.Accessor{RequestID: "none"}},
	} {
		split := func(s string) []string {
			if s == "" {
				return []string{}
			}
			return strings.Split(s, ",")
		}
		var want []byte
		for i := range a.Victims {
			r := a.Record(i)
			l := translog.Leaf{At: at, RequestID: r.RequestID, UserID: strings.ToLower(r.UserID), Username: r.Username,
				PartnerID: strings.ToLower(r.PartnerID), Roles: split(strings.Join(r.Roles, ",")), Purpose: string(r.Purpose),
				VictimID: strings.ToLower(r.VictimID), Disclosed: r.Disclosed.Names(), Withheld: r.Withheld.Names(),
				PolicyVersion: r.PolicyVersion, OperationName: r.OperationName}
			want = append(want, l.Hash()...)
		}
		if got := translog.HashAccess(a, at); !bytes.Equal(got, want) {
			t.Errorf("%+v: HashAccess differs from the leaves' hashes", a)
		}
	}
	a := &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "0123456789abcdef01234567",
		Username: "enforcement_officer@pdrm", Roles: []string{"enforcement_officer"}},
		Victims: make([]lindung.VictimAccess, 100)}
	for i := range a.Victims {
		a.Victims[i].Disclosed = lindung.SetOf(lindung.Case, lindung.Legal)
	}
	if n := testing.AllocsPerRun(100, func() { translog.HashAccess(a, at) }); n > 3 {
		t.Errorf("HashAccess allocates %.0f times for 100 victims, want at most 3", n)
	}
}

// TestLeafEncoding: the encoding is fixed byte for byte (a change would make every stored leaf fail to
// verify), escapes what JSON must and nothing else, and writes empty lists as [].
func TestLeafEncoding(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 30, 0, 123456789, time.FixedZone("MYT", 8*3600))
	l := translog.Leaf{At: at, RequestID: "r1", Username: "a<b>&\"c\"\n", PartnerID: "p", Purpose: "CASE_MANAGEMENT",
		VictimID: "v", Disclosed: []string{"IDENTITY", "HEALTH"}, PolicyVersion: "pv", OperationName: "Op"}
	want := `{"v":1,"at":"2026-03-01T00:30:00.123456Z","request_id":"r1","user_id":"","username":"a<b>&\"c\"\n",` +
		`"partner_id":"p","roles":[],"purpose":"CASE_MANAGEMENT","victim_id":"v","disclosed":["IDENTITY","HEALTH"],` +
		`"withheld":[],"policy_version":"pv","operation_name":"Op"}`
	if got := string(l.Encode()); got != want {
		t.Errorf("encoding:\n got %s\nwant %s", got, want)
	}
	other := l
	other.Withheld = []string{"HEALTH"}
	if string(other.Hash()) == string(l.Hash()) {
		t.Error("two different records hash alike")
	}
}

// TestCheckpointSignatures: a checkpoint opens with its log's key and with no other, and a changed size
// or root breaks its signature.
func TestCheckpointSignatures(t *testing.T) {
	key, skey, err := translog.NewKey("hub.example/access-log")
	if err != nil {
		t.Fatal(err)
	}
	again, err := translog.ParseKey(skey)
	if err != nil || again.PublicKey != key.PublicKey {
		t.Fatalf("the private key does not parse back to the same public key: %v", err)
	}
	c := translog.Checkpoint{Origin: "hub.example/access-log", Size: 7, Root: make([]byte, 32)}
	signed, err := translog.Sign(c, key.Signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := translog.Open(signed, key.Verifier())
	if err != nil || got.Size != 7 {
		t.Fatalf("open: %+v %v", got, err)
	}
	stranger, _, _ := translog.NewKey("hub.example/access-log")
	for name, msg := range map[string][]byte{
		"other key":    nil,
		"changed size": []byte(strings.Replace(string(signed), "\n7\n", "\n8\n", 1)),
		"changed root": []byte(strings.Replace(string(signed), "AAAA", "AAAB", 1)),
	} {
		v := key.Verifier()
		if msg == nil {
			msg, v = signed, stranger.Verifier()
		}
		if _, err := translog.Open(msg, v); err == nil {
			t.Errorf("%s: the checkpoint opened", name)
		}
	}
	if _, err := translog.Sign(translog.Checkpoint{Origin: "another/log", Size: 1, Root: make([]byte, 32)}, key.Signer); err == nil {
		t.Error("a checkpoint of another origin was signed")
	}
}

// TestAudit: the audit of a log held in memory names each kind of change, and nothing on an intact log.
func TestAudit(t *testing.T) {
	now := time.Now()
	build := func() ([]translog.LoggedLeaf, map[int64]translog.RecordHash, []translog.Checkpoint) {
		var leaves []translog.LoggedLeaf
		records := map[int64]translog.RecordHash{}
		tree := &translog.MemoryTree{}
		for i := range 8 {
			h := translog.Leaf{RequestID: string(rune('a' + i))}.Hash()
			leaves = append(leaves, translog.LoggedLeaf{Index: uint64(i), RecordID: int64(100 + i), Hash: h})
			records[int64(100+i)] = translog.RecordHash{ID: int64(100 + i), At: now.Add(-time.Hour), Hash: h}
			tree.Leaves = append(tree.Leaves, h)
		}
		var cps []translog.Checkpoint
		for _, n := range []uint64{5, 8} {
			root, _ := tree.Root(n)
			cps = append(cps, translog.Checkpoint{Size: n, Root: root})
		}
		return leaves, records, cps
	}
	for _, tc := range []struct {
		name   string
		change func(leaves []translog.LoggedLeaf, records map[int64]translog.RecordHash) []translog.LoggedLeaf
		want   []string
	}{
		{"intact", func(l []translog.LoggedLeaf, _ map[int64]translog.RecordHash) []translog.LoggedLeaf { return l }, nil},
		{"altered", func(l []translog.LoggedLeaf, r map[int64]translog.RecordHash) []translog.LoggedLeaf {
			r[103] = translog.RecordHash{ID: 103, At: now, Hash: translog.Leaf{RequestID: "x"}.Hash()}
			return l
		}, []string{"altered leaf 3", "checkpoint size 5", "checkpoint size 8"}},
		{"removed", func(l []translog.LoggedLeaf, r map[int64]translog.RecordHash) []translog.LoggedLeaf {
			delete(r, 106)
			return l
		}, []string{"removed leaf 6", "checkpoint size 8"}},
		{"reordered", func(l []translog.LoggedLeaf, r map[int64]translog.RecordHash) []translog.LoggedLeaf {
			l[1].RecordID, l[2].RecordID = l[2].RecordID, l[1].RecordID
			return l
		}, []string{"reordered leaf 1", "reordered leaf 2", "checkpoint size 5", "checkpoint size 8"}},
		{"leaf cut from the tree state", func(l []translog.LoggedLeaf, r map[int64]translog.RecordHash) []translog.LoggedLeaf {
			return l[:6]
		}, []string{"tree-state", "checkpoint size 8", "unlogged record 106", "unlogged record 107"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaves, records, cps := build()
			rep := translog.Audit(tc.change(leaves, records), records, cps, now, time.Minute)
			var got []string
			for _, p := range rep.Problems {
				switch {
				case p.Kind == translog.TreeState:
					got = append(got, "tree-state")
				case p.Kind == translog.CheckpointMismatch:
					got = append(got, "checkpoint size "+strings.Fields(strings.SplitAfter(p.Detail, "size ")[1])[0])
				case p.Leaf >= 0:
					got = append(got, string(p.Kind)+" leaf "+itoa(p.Leaf))
				default:
					got = append(got, string(p.Kind)+" record "+itoa(p.RecordID))
				}
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// BenchmarkLeafHash is what the log adds to writing one access record in a request: its canonical
// encoding and leaf hash.
func BenchmarkLeafHash(b *testing.B) {
	a := &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "0123456789abcdef01234567",
		UserID: "25e80103-e3b7-46b3-b6ba-19f60c03206a", Username: "enforcement_officer@pdrm",
		PartnerID: "cf820a59-f08b-45f3-9513-50a28dc8713f", Roles: []string{"enforcement_officer"},
		Purpose: lindung.PurposeProsecution, PolicyVersion: "ce0e045c59fb", OperationName: "CaseFile"},
		Victims: []lindung.VictimAccess{{VictimID: "00cbdc34-57a5-4cbc-ac78-5bc86ce24bc3",
			Disclosed: lindung.SetOf(lindung.Demographic, lindung.Case, lindung.Legal), Withheld: lindung.SetOf(lindung.Identity)}}}
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		translog.HashAccess(a, at)
	}
}
