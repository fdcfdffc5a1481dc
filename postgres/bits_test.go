package postgres_test

import (
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// TestReferralBitsOnlyWhereUsed: a role limited to its referrals (the NGO caseworker) reads each victim's
// referral bits (viewer_bits), and gets them; every other role's statements read consent alone
// (viewer_consent_bits), probe no referral, and carry no referral bits, which its masks never read.
func TestReferralBitsOnlyWhereUsed(t *testing.T) {
	t.Parallel()
	log := &pgtest.Tracer{}
	db, err := postgres.Open(ctx, pgtest.NewDemo(t), postgres.Options{MaxConns: 2, Tracer: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	for _, c := range []struct {
		name     string
		slug     string
		scope    lindung.Scope
		function string
	}{
		{"protection officer", demo.SlugKPWKM, lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement,
			Legal: lindung.AllCategories}, "viewer_consent_bits("},
		{"police", demo.SlugPDRM, lindung.Scope{Rows: lindung.ScopeLinked, Purpose: lindung.PurposeProsecution,
			Legal: lindung.AllCategories}, "viewer_consent_bits("},
		{"ngo caseworker", demo.SlugNGOHarapan, lindung.Scope{Rows: lindung.ScopeReferred, Purpose: lindung.PurposeServiceDelivery,
			Legal: lindung.AllCategories, LimitToReferral: true}, "viewer_bits("},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := db.NewSession(postgres.SessionRequest{PartnerSlug: c.slug, Username: "test@" + c.slug, Scope: c.scope})
			if _, err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Rollback(ctx)
			log.Record()
			page, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Victims) == 0 {
				t.Fatal("no victims visible: the test would prove nothing")
			}
			ids := make([]string, len(page.Victims))
			referred := lindung.CategorySet(0)
			for i, v := range page.Victims {
				ids[i] = v.ID
				referred |= v.Referred
			}
			lists, err := s.FindReferralsByVictimIDs(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			for _, list := range lists {
				for _, r := range list {
					referred |= r.Referred
				}
			}
			statements := log.Stop()
			joined := 0
			for _, sql := range statements {
				if !strings.Contains(sql, "_bits(") {
					continue
				}
				joined++
				if !strings.Contains(sql, c.function) || c.function != "viewer_bits(" && strings.Contains(sql, " viewer_bits(") {
					t.Errorf("a statement does not join %s:\n%s", c.function, sql)
				}
			}
			if joined != 2 {
				t.Errorf("%d statements joined the bits, want 2 (the page and the referrals)", joined)
			}
			if c.scope.LimitToReferral != (referred != 0) {
				t.Errorf("referral bits %q for a role limited to its referrals: %v", referred, c.scope.LimitToReferral)
			}
		})
	}
}
