package resolvers

import (
	"testing"

	"github.com/google/uuid"

	"github.com/lindung/lindung"
)

// FuzzDecodeCursor: any string a client sends as `after` either decodes to a well-formed victim id, which
// encodes back to the same cursor's id, or is refused as INVALID on the field `after`; it never panics
// and never lets anything but a UUID through to the store.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", "garbage", encodeCursor("6f1d7f0e-0000-4000-8000-000000000000"), "djE6",
		"djE6bm90LWEtdXVpZA", "' OR 1=1 --", encodeCursor("6F1D7F0E-0000-4000-8000-000000000000"),
		encodeCursor("{6f1d7f0e-0000-4000-8000-000000000000}"), encodeCursor("urn:uuid:6f1d7f0e-0000-4000-8000-000000000000")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		id, err := decodeCursor(cursor)
		if err != nil {
			e, ok := err.(*lindung.Error)
			if !ok || e.Code != lindung.EINVALID || e.Field != "after" {
				t.Fatalf("decodeCursor(%q): error %#v, want INVALID on after", cursor, err)
			}
			return
		}
		u, perr := uuid.Parse(id)
		if perr != nil {
			t.Fatalf("decodeCursor(%q) = %q, not a UUID", cursor, id)
		}
		again, err := decodeCursor(encodeCursor(id))
		if err != nil || again != id {
			t.Fatalf("cursor of %q does not round-trip: %q, %v", id, again, err)
		}
		if back, err := decodeCursor(encodeCursor(u.String())); err != nil || back != u.String() {
			t.Fatalf("canonical cursor of %s does not round-trip: %q, %v", u, back, err)
		}
	})
}

// FuzzPageArgs: a page size and cursor from a client give a page of 1 to MaxPageSize rows or INVALID.
func FuzzPageArgs(f *testing.F) {
	f.Add(20, "", false)
	f.Add(-1, "x", true)
	f.Add(MaxPageSize+1, encodeCursor("6f1d7f0e-0000-4000-8000-000000000000"), true)
	f.Fuzz(func(t *testing.T, first int, after string, withAfter bool) {
		var a *string
		if withAfter {
			a = &after
		}
		p, err := pageArgs(&first, a)
		if err != nil {
			if lindung.CodeOf(err) != lindung.EINVALID {
				t.Fatalf("pageArgs(%d, %q): %v, want INVALID", first, after, err)
			}
			return
		}
		if p.First < 1 || p.First > MaxPageSize {
			t.Fatalf("pageArgs(%d) accepted a page of %d", first, p.First)
		}
	})
}
