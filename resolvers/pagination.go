package resolvers

import (
	"encoding/base64"
	"strings"

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
