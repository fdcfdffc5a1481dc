package postgres_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// consentFixture is a small hub: an agency that owns the cases, two NGOs, an adult case V, a mother M and
// her child C, each referred (accepted) to ngo-a for HEALTH, and a case R with referrals in every status.
type consentFixture struct {
	db                 *postgres.DB
	gov, ngoA, ngoB    string
	officer            string
	v, m, c, r, unseen string
}

func openConsentFixture(t *testing.T) *consentFixture {
	t.Helper()
	db := open(t, pgtest.New(t))
	f := &consentFixture{db: db}
	partner := func(slug, typ string) (id string) {
		mustScan(t, db, []any{&id}, `INSERT INTO partners (slug, name, type, state) VALUES ($1, $1, $2, 'SELANGOR') RETURNING id::text`, slug, typ)
		return id
	}
	f.gov, f.ngoA, f.ngoB = partner("gov", "GOVERNMENT"), partner("ngo-a", "NGO"), partner("ngo-b", "NGO")
	mustScan(t, db, []any{&f.officer}, `INSERT INTO users (partner_id, username, roles) VALUES ($1, 'officer', '{protection_officer}') RETURNING id::text`, f.gov)
	victim := func(ref, band string) (id string) {
		mustScan(t, db, []any{&id}, `INSERT INTO victims (case_ref, owner_partner_id, age_band) VALUES ($1, $2, $3) RETURNING id::text`, ref, f.gov, band)
		return id
	}
	f.v, f.m, f.c = victim("KP-2026-000001", "AGE_30_38"), victim("KP-2026-000002", "AGE_27_29"), victim("KP-2026-000003", "AGE_0_8")
	f.r, f.unseen = victim("KP-2026-000004", "AGE_21_23"), victim("KP-2026-000005", "AGE_21_23")
	mustExec(t, db, `INSERT INTO family_links (victim_id, related_victim_id, relationship) VALUES ($1, $2, 'MOTHER')`, f.c, f.m)
	referral := func(victim, to, status, cats string) {
		var reason *string
		if status == "REJECTED" {
			reason = ptr("no capacity")
		}
		mustExec(t, db, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, status,
			rejection_reason, due_on) VALUES ($1, $2, $3, 'HEALTH', $4::data_category[], $5, $6, current_date + 7)`,
			victim, f.gov, to, cats, status, reason)
	}
	for _, id := range []string{f.v, f.m, f.c} {
		referral(id, f.ngoA, "ACCEPTED", "{HEALTH}")
	}
	referral(f.r, f.ngoA, "ACCEPTED", "{HEALTH}")
	referral(f.r, f.ngoA, "ACCEPTED", "{IDENTITY,CASE}")
	referral(f.r, f.ngoA, "IN_PROGRESS", "{COUNSELLING}")
	referral(f.r, f.ngoA, "REJECTED", "{LEGAL}")
	referral(f.r, f.ngoA, "COMPLETED", "{FAMILY}")
	referral(f.r, f.ngoA, "WITHDRAWN", "{LOCATION}")
	referral(f.r, f.ngoB, "ACCEPTED", "{CONTACT}")
	referral(f.unseen, f.ngoB, "ACCEPTED", "{CONTACT}")
	return f
}

// The session is an NGO caseworker's as the policy has it: referred rows, disclosure limited to what its
// referrals ask for, so that its statements read the referral bits (viewer_bits, not viewer_consent_bits).
func (f *consentFixture) session(t *testing.T, slug string, purpose lindung.Purpose) *postgres.Session {
	t.Helper()
	s := f.db.NewSession(postgres.SessionRequest{PartnerSlug: slug, Username: "test@" + slug,
		Scope: lindung.Scope{Rows: lindung.ScopeReferred, Purpose: purpose, Legal: lindung.AllCategories, LimitToReferral: true}})
	if _, err := s.Start(ctx); err != nil {
		t.Fatalf("start session for %s: %v", slug, err)
	}
	t.Cleanup(func() { s.Rollback(ctx) })
	return s
}

// provision is a consent provision, its period written as SQL evaluated in the reading transaction.
type provision struct {
	partner, partnerType string // grantee: a partner id, or a partner type
	categories, purposes string // SQL array literals
	start, end           string // SQL expressions
}

// TestConsentedBits: the categories a victim's consent grants this request are those of active
// provisions, now, to the caller's partner or its type, for the request's purpose. Each case records a
// consent inside ngo-a's request transaction, where now() is fixed, so the period boundaries are exact.
func TestConsentedBits(t *testing.T) {
	t.Parallel()
	f := openConsentFixture(t)
	always := func(p provision) provision {
		if p.start == "" {
			p.start = "now() - interval '1 day'"
		}
		if p.end == "" {
			p.end = "NULL"
		}
		if p.purposes == "" {
			p.purposes = "{SERVICE_DELIVERY}"
		}
		return p
	}
	toA := func(cats string) provision { return always(provision{partner: f.ngoA, categories: cats}) }
	ngo := "NGO"
	health, identity := lindung.SetOf(lindung.Health), lindung.SetOf(lindung.Identity)
	for _, tc := range []struct {
		name      string
		victim    string // whose consent
		grantor   string // "" for the victim (SELF)
		withdrawn string // SQL, "" when not withdrawn
		provs     []provision
		want      map[string]lindung.CategorySet // victim -> bits; victims not named want 0
	}{
		{name: "to the partner", victim: f.v, provs: []provision{toA("{IDENTITY,HEALTH}")},
			want: map[string]lindung.CategorySet{f.v: identity | health}},
		{name: "to the partner type", victim: f.v, provs: []provision{always(provision{partnerType: ngo, categories: "{CONTACT}"})},
			want: map[string]lindung.CategorySet{f.v: lindung.SetOf(lindung.Contact)}},
		{name: "to another partner type", victim: f.v, provs: []provision{always(provision{partnerType: "GOVERNMENT", categories: "{CONTACT}"})}},
		{name: "to another partner", victim: f.v, provs: []provision{always(provision{partner: f.ngoB, categories: "{CONTACT}"})}},
		{name: "for another purpose", victim: f.v, provs: []provision{always(provision{partner: f.ngoA, categories: "{HEALTH}", purposes: "{PROSECUTION,CASE_MANAGEMENT}"})}},
		{name: "for several purposes, ours among them", victim: f.v,
			provs: []provision{always(provision{partner: f.ngoA, categories: "{HEALTH}", purposes: "{PROSECUTION,SERVICE_DELIVERY}"})},
			want:  map[string]lindung.CategorySet{f.v: health}},
		{name: "withdrawn", victim: f.v, withdrawn: "now()", provs: []provision{toA("{HEALTH}")}},
		{name: "withdrawn earlier", victim: f.v, withdrawn: "now() - interval '1 hour'", provs: []provision{toA("{HEALTH}")}},
		{name: "starts in the future", victim: f.v, provs: []provision{always(provision{partner: f.ngoA, categories: "{HEALTH}", start: "now() + interval '1 millisecond'"})}},
		{name: "starts exactly now", victim: f.v, provs: []provision{always(provision{partner: f.ngoA, categories: "{HEALTH}", start: "now()"})},
			want: map[string]lindung.CategorySet{f.v: health}},
		{name: "ends exactly now (exclusive)", victim: f.v, provs: []provision{always(provision{partner: f.ngoA, categories: "{HEALTH}", end: "now()"})}},
		{name: "ended yesterday", victim: f.v, provs: []provision{always(provision{partner: f.ngoA, categories: "{HEALTH}", start: "now() - interval '1 month'", end: "now() - interval '1 day'"})}},
		{name: "ends a microsecond from now", victim: f.v, provs: []provision{always(provision{partner: f.ngoA, categories: "{HEALTH}", end: "now() + interval '1 microsecond'"})},
			want: map[string]lindung.CategorySet{f.v: health}},
		{name: "provisions add up, dead ones do not", victim: f.v, provs: []provision{
			toA("{IDENTITY}"),
			always(provision{partnerType: ngo, categories: "{HEALTH,COUNSELLING}"}),
			always(provision{partner: f.ngoA, categories: "{LEGAL}", end: "now()"}),
			always(provision{partner: f.ngoB, categories: "{FAMILY}"}),
		}, want: map[string]lindung.CategorySet{f.v: identity | health | lindung.SetOf(lindung.Counselling)}},
		{name: "guardian consent for a child", victim: f.c, grantor: f.m, provs: []provision{toA("{IDENTITY,FAMILY}")},
			want: map[string]lindung.CategorySet{f.c: lindung.SetOf(lindung.Identity, lindung.Family)}},
		{name: "the mother's own consent is not the child's", victim: f.m, provs: []provision{toA("{HEALTH}")},
			want: map[string]lindung.CategorySet{f.m: health}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := f.session(t, "ngo-a", lindung.PurposeServiceDelivery)
			consent, grantor, relation := uuid.NewString(), tc.victim, "SELF"
			if tc.grantor != "" {
				grantor, relation = tc.grantor, "MOTHER"
			}
			withdrawn := "NULL"
			if tc.withdrawn != "" {
				withdrawn = tc.withdrawn
			}
			// Recorded in the caller's transaction, so that now() is the same instant for writing and
			// reading, but as the agency that owns the case: only it may record consent (an NGO's write is
			// refused by row-level security, TestRowSecurityForWrites).
			if err := s.ExecForTest(ctx, `SELECT set_config('lindung.scope', 'partner', true), set_config('lindung.partner_id', $1, true)`, f.gov); err != nil {
				t.Fatal(err)
			}
			if err := s.ExecForTest(ctx, `INSERT INTO consents (id, victim_id, grantor_victim_id, grantor_relation,
				recorded_by_user_id, recorded_at, language, method, withdrawn_at)
				VALUES ($1, $2, $3, $4, $5, now() - interval '2 hours', 'ms', 'VERBAL', `+withdrawn+`)`,
				consent, tc.victim, grantor, relation, f.officer); err != nil {
				t.Fatalf("record consent: %v", err)
			}
			for i, p := range tc.provs {
				var partner, typ *string
				if p.partner != "" {
					partner = &p.partner
				} else {
					typ = &p.partnerType
				}
				if err := s.ExecForTest(ctx, `INSERT INTO consent_provisions (consent_id, position, grantee_partner_id,
					grantee_type, categories, purposes, period_start, period_end)
					VALUES ($1, $2, $3, $4, $5::data_category[], $6::purpose[], `+p.start+`, `+p.end+`)`,
					consent, i, partner, typ, p.categories, p.purposes); err != nil {
					t.Fatalf("record provision %d: %v", i, err)
				}
			}
			if err := s.ExecForTest(ctx, `SELECT set_config('lindung.scope', 'referred', true), set_config('lindung.partner_id', $1, true)`, f.ngoA); err != nil {
				t.Fatal(err)
			}
			ids := []string{f.v, f.m, f.c}
			vs, err := s.FindVictimsByIDs(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			consents, err := s.FindConsentsByVictimIDs(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vs {
				if v == nil {
					t.Fatalf("case %s not visible to ngo-a", ids[i])
				}
				if v.Consented != tc.want[v.ID] {
					t.Errorf("%s consented %q, want %q", ids[i], v.Consented, tc.want[v.ID])
				}
				if v.Referred != health {
					t.Errorf("%s referred %q, want HEALTH", ids[i], v.Referred)
				}
				for _, c := range consents[i] {
					if c.Consented != v.Consented || len(c.Provisions) != len(tc.provs) {
						t.Errorf("consent of %s: bits %q, %d provisions; want %q, %d", ids[i], c.Consented,
							len(c.Provisions), v.Consented, len(tc.provs))
					}
				}
			}
		})
	}
}

// TestReferredBits: only accepted referrals to the caller's partner count.
func TestReferredBits(t *testing.T) {
	t.Parallel()
	f := openConsentFixture(t)
	for _, tc := range []struct {
		slug string
		want map[string]lindung.CategorySet // visible victims and their bits; others must be invisible
	}{
		{"ngo-a", map[string]lindung.CategorySet{
			f.r: lindung.SetOf(lindung.Health, lindung.Identity, lindung.Case),
			f.v: lindung.SetOf(lindung.Health), f.m: lindung.SetOf(lindung.Health), f.c: lindung.SetOf(lindung.Health)}},
		{"ngo-b", map[string]lindung.CategorySet{f.r: lindung.SetOf(lindung.Contact), f.unseen: lindung.SetOf(lindung.Contact)}},
	} {
		t.Run(tc.slug, func(t *testing.T) {
			s := f.session(t, tc.slug, lindung.PurposeServiceDelivery)
			ids := []string{f.v, f.m, f.c, f.r, f.unseen}
			vs, err := s.FindVictimsByIDs(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vs {
				want, ok := tc.want[ids[i]]
				if (v != nil) != ok {
					t.Errorf("%s: visible %v, want %v", ids[i], v != nil, ok)
					continue
				}
				if v != nil && v.Referred != want {
					t.Errorf("%s: referred %q, want %q", ids[i], v.Referred, want)
				}
			}
			// The same bits ride on every child record of the case; an NGO sees its own referrals of it.
			var own int
			if err := admin(t, f.db).Pool.QueryRow(ctx, `SELECT count(*) FROM referrals r JOIN partners p
				ON p.id IN (r.from_partner_id, r.to_partner_id) WHERE r.victim_id = $1 AND p.slug = $2`,
				f.r, tc.slug).Scan(&own); err != nil || own == 0 {
				t.Fatalf("the fixture must refer R to %s: %d, %v", tc.slug, own, err)
			}
			rs, err := s.FindReferralsByVictimIDs(ctx, []string{f.r})
			if err != nil || len(rs[0]) != own {
				t.Fatalf("referrals of R: %d, %v; want the %d of %s", len(rs[0]), err, own, tc.slug)
			}
			for _, r := range rs[0] {
				if r.Referred != tc.want[f.r] {
					t.Errorf("referral %s carries %q, want %q", r.ID, r.Referred, tc.want[f.r])
				}
			}
		})
	}
}
