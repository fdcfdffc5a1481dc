package server_test

import (
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
)

// TestOrderLimitsAreConfigurable: the order limits come from the server's configuration (serve
// --order-limits), not only from the statute's defaults.
func TestOrderLimitsAreConfigurable(t *testing.T) {
	base := newHubWith(t, func(c *server.Config) {
		c.OrderLimits = lindung.OrderLimits{IPODays: 5, PODays: 90, POExtensionDays: 90}
	})
	h := &careHub{hub: base, officer: base.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)}
	var created struct{ CreateVictim struct{ ID string } }
	h.ok(t, h.officer, `mutation { createVictim(input: {caseRef: "LIM-2026-000001"}) { id } }`, nil, &created)
	id := created.CreateVictim.ID
	h.fails(t, h.officer, orderMutation, map[string]any{"in": map[string]any{"victimId": id, "type": "IPO",
		"court": "Mahkamah Majistret", "orderNumber": "LIM/IPO/1", "startsOn": h.day(0), "endsOn": h.day(10)}},
		"INVALID", "", "endsOn")
	h.order(t, id, "IPO", 0, 5) // within the configured 5 days
}
