package bench

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres/pgtest"
)

// BenchmarkPeerQueries serves the peer benchmark's queries in-process with the policy on, for a CPU or
// allocation profile of the hub's own work on them:
//
//	go test -run XXX -bench PeerQueries -benchtime 300x -cpuprofile cpu.out ./bench
func BenchmarkPeerQueries(b *testing.B) {
	h := variants(b, pgtest.NewDemo(b))[0].handler
	token, err := auth.NewIssuer(secret).Issue(auth.Claims{Subject: demo.DemoUsername("protection_officer", "kpwkm"),
		Partner: "kpwkm", Roles: []string{"protection_officer"}}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	var first struct {
		Data struct {
			Victims struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
	}
	json.Unmarshal(post(b, h, token, `{ victims(first: 1) { edges { node { id } } } }`, nil), &first)
	id := first.Data.Victims.Edges[0].Node.ID
	for _, q := range []struct {
		name, query string
		vars        map[string]any
	}{{"a", PeerQueryA, map[string]any{"id": id}}, {"b", PeerQueryB, nil}, {"c", PeerQueryC, nil}} {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				post(b, h, token, q.query, q.vars)
			}
		})
	}
}
