// Package scalar holds the GraphQL scalars the schema defines beyond gqlgen's own.
package scalar

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/lindung/lindung"
)

// DateLayout is the one format of the Date scalar.
const DateLayout = "2006-01-02"

// MarshalDate writes a calendar date as "YYYY-MM-DD".
func MarshalDate(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(t.Format(DateLayout)))
	})
}

// UnmarshalDate reads a "YYYY-MM-DD" date, refusing anything else with an INVALID error naming the format.
func UnmarshalDate(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, lindung.Errorf(lindung.EINVALID, "a Date must be a string in the form YYYY-MM-DD")
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		// The value is not echoed: it may be victim data, and error messages are logged.
		return time.Time{}, lindung.Errorf(lindung.EINVALID, "a Date must be in the form YYYY-MM-DD")
	}
	return t, nil
}
