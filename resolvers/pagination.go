package resolvers

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
)

// cursorPrefix versions the cursor format. A cursor only names the last row seen; it grants nothing,
// since every page is read under the caller's scope again, so a forged cursor can at most skip rows.
const cursorPrefix = "v1:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	id, ok := strings.CutPrefix(string(b), cursorPrefix)
	if err != nil || !ok {
		return "", lindung.Invalid("after", "after is not a cursor this hub issued")
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", lindung.Invalid("after", "after is not a cursor this hub issued")
	}
	return id, nil
}

// pageArgs validates first and after. A page size out of range is an error rather than silently
// clamped, so a client never mistakes a short page for the end of the list.
func pageArgs(first *int, after *string) (lindung.Page, error) {
	p := lindung.Page{First: DefaultPageSize}
	if first != nil {
		p.First = *first
	}
	if p.First < 1 || p.First > MaxPageSize {
		return p, lindung.Invalid("first", "first must be between 1 and %d", MaxPageSize)
	}
	if after != nil && *after != "" {
		id, err := decodeCursor(*after)
		if err != nil {
			return p, err
		}
		p.After = id
	}
	return p, nil
}

// selects reports whether the field being resolved selects name on typeName (through aliases, fragments
// and @include/@skip). Outside an operation it answers true: a caller that cannot say gets everything.
func selects(ctx context.Context, typeName, name string) bool {
	if !graphql.HasOperationContext(ctx) || graphql.GetFieldContext(ctx) == nil {
		return true
	}
	for _, f := range graphql.CollectFieldsCtx(ctx, []string{typeName}) {
		if f.Name == name {
			return true
		}
	}
	return false
}

func victimConnection(res *lindung.VictimPage) *model.VictimConnection {
	c := &model.VictimConnection{TotalCount: res.TotalCount, Edges: make([]*model.VictimEdge, len(res.Victims)),
		PageInfo: &model.PageInfo{HasNextPage: res.HasNext}}
	for i, v := range res.Victims {
		c.Edges[i] = &model.VictimEdge{Cursor: encodeCursor(v.ID), Node: v}
	}
	if n := len(res.Victims); n > 0 {
		end := c.Edges[n-1].Cursor
		c.PageInfo.EndCursor = &end
	}
	return c
}

// checkFilter refuses a filter that would be an oracle for a withheld value. Being listed under a shelter
// says where a victim is, so the shelter filter is open only where the policy discloses every victim's
// location on a legal basis; where location needs consent (or a referral), it would reveal the shelter of
// victims whose location is withheld.
func checkFilter(req *Request, f lindung.VictimFilter) error {
	if f.ShelterID != nil && !req.Decision.Mask(&lindung.Owned{InScope: true}).Has(lindung.Location) {
		return lindung.Errorf(lindung.EFORBIDDEN, "filtering by shelter would reveal where victims are, and your role may not see that for this purpose")
	}
	return nil
}

// auditCursors counts the victims whose cursors the response carries as disclosed by reference: a cursor
// encodes the victim's id, so a page that selects only cursors still shows who is in it.
func auditCursors(ctx context.Context, req *Request, vs []*lindung.Victim) {
	p, ok := newPrefetcher(ctx)
	if !ok || len(vs) == 0 {
		return
	}
	fields := p.fieldsByName(p.selection(nil), "VictimConnection")
	if f := fields["edges"]; f != nil && p.fieldsByName(f.sel, "VictimEdge")["cursor"] != nil {
		for _, v := range vs {
			req.disclose(v.ID, 0)
		}
	}
	if f := fields["pageInfo"]; f != nil && p.fieldsByName(f.sel, "PageInfo")["endCursor"] != nil {
		req.disclose(vs[len(vs)-1].ID, 0)
	}
}
