package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// The hand-written baseline produces the same JSON as the hub for two reference operations, with the same
// consent filtering and the same audit records, using pgx and encoding/json directly: what a team would
// write for exactly these two queries and nothing else.
const (
	handOne = `query One($id: ID!) { victim(id: $id) { caseRef legalName ageBand gender phone medicalNeeds
		counsellingNotes referrals { status dueOn } } }`
	handList = `query List { victims(first: 100) { edges { node { caseRef legalName gender phone medicalNeeds
		referrals { status dueOn } } } } }`
)

// The protection officer's decision for CASE_MANAGEMENT, written out by hand: health and counselling need
// consent, every other category is legal.
const handConsentOnly = lindung.CategorySet(1<<lindung.Health | 1<<lindung.Counselling)

type handReferral struct {
	Status string `json:"status"`
	DueOn  string `json:"dueOn"`
}

type handVictim struct {
	CaseRef          string         `json:"caseRef"`
	LegalName        *string        `json:"legalName"`
	AgeBand          *string        `json:"ageBand"`
	Gender           *string        `json:"gender"`
	Phone            *string        `json:"phone"`
	MedicalNeeds     *string        `json:"medicalNeeds"`
	CounsellingNotes *string        `json:"counsellingNotes"`
	Referrals        []handReferral `json:"referrals"`
	mask             lindung.CategorySet
	id               string
	withheld         []handWithheldAt
	disclosed        lindung.CategorySet
}

// handListNode is what the list operation selects of a victim, in its order.
type handListNode struct {
	CaseRef      string         `json:"caseRef"`
	LegalName    *string        `json:"legalName"`
	Gender       *string        `json:"gender"`
	Phone        *string        `json:"phone"`
	MedicalNeeds *string        `json:"medicalNeeds"`
	Referrals    []handReferral `json:"referrals"`
}

type handWithheldAt struct {
	category lindung.Category
	field    string
}

type handWithheld struct {
	Reason   string   `json:"reason"`
	Category string   `json:"category"`
	Paths    []string `json:"paths"`
}

// handwritten serves the two operations from one pool, as the hub would: one transaction per request,
// scope settings for row-level security, the audit written before commit.
type handwritten struct {
	db        *postgres.DB
	partnerID string
}

func (h *handwritten) begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := h.db.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `SELECT set_config('lindung.partner_id', $1, true), set_config('lindung.partner_type', 'GOVERNMENT', true),
		set_config('lindung.scope', 'partner', true), set_config('lindung.purpose', 'CASE_MANAGEMENT', true)`, h.partnerID)
	return tx, err
}

const handVictimSQL = `SELECT v.id::text, v.case_ref, v.legal_name, v.age_band::text, v.gender::text, v.phone,
	v.medical_needs, v.counselling_notes, b.consented
	FROM victims v CROSS JOIN LATERAL viewer_bits(v.consent_grants, v.id, 'CASE_MANAGEMENT', current_setting('lindung.partner_id')::uuid, 'GOVERNMENT') b
	WHERE %s ORDER BY v.id`

func (h *handwritten) victims(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]*handVictim, error) {
	rows, err := tx.Query(ctx, fmt.Sprintf(handVictimSQL, where), args...)
	if err != nil {
		return nil, err
	}
	var out []*handVictim
	for rows.Next() {
		v := &handVictim{}
		var consented int32
		if err := rows.Scan(&v.id, &v.CaseRef, &v.LegalName, &v.AgeBand, &v.Gender, &v.Phone, &v.MedicalNeeds,
			&v.CounsellingNotes, &consented); err != nil {
			return nil, err
		}
		v.mask = lindung.AllCategories&^handConsentOnly | handConsentOnly&lindung.CategorySet(consented)
		out = append(out, v)
	}
	if rows.Err() != nil {
		return nil, rows.Err()
	}
	ids := make([]string, len(out))
	byID := map[string]*handVictim{}
	for i, v := range out {
		ids[i], byID[v.id] = v.id, v
	}
	rows, err = tx.Query(ctx, `SELECT victim_id::text, status::text, due_on, service_code::text FROM referrals
		WHERE victim_id = ANY($1::uuid[]) ORDER BY created_at DESC, id`, ids)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, status, code string
		var due time.Time
		if err := rows.Scan(&id, &status, &due, &code); err != nil {
			return nil, err
		}
		v := byID[id]
		if c := lindung.ServiceCategory(code); v.mask.Has(c) {
			v.Referrals = append(v.Referrals, handReferral{status, due.Format("2006-01-02")})
			v.disclosed |= lindung.SetOf(c)
		}
	}
	return out, rows.Err()
}

// guard nulls the withheld fields of v, recording them, as the field guard does.
func (v *handVictim) guard(withCounselling bool) {
	check := func(c lindung.Category, field string, p **string) {
		if v.mask.Has(c) {
			if *p != nil {
				v.disclosed |= lindung.SetOf(c)
			}
			return
		}
		*p = nil
		v.withheld = append(v.withheld, handWithheldAt{c, field})
	}
	check(lindung.Identity, "legalName", &v.LegalName)
	check(lindung.Demographic, "gender", &v.Gender)
	check(lindung.Demographic, "ageBand", &v.AgeBand)
	check(lindung.Contact, "phone", &v.Phone)
	check(lindung.Health, "medicalNeeds", &v.MedicalNeeds)
	if withCounselling {
		check(lindung.Counselling, "counsellingNotes", &v.CounsellingNotes)
	}
	if v.Referrals == nil {
		v.Referrals = []handReferral{}
	}
	v.disclosed |= lindung.SetOf(lindung.Case) // the referrals list itself
}

func (h *handwritten) audit(ctx context.Context, tx pgx.Tx, vs []*handVictim, op string) error {
	n := len(vs)
	ids, disclosed, withheld := make([]string, n), make([]string, n), make([]string, n)
	for i, v := range vs {
		var w lindung.CategorySet
		for _, x := range v.withheld {
			w |= lindung.SetOf(x.category)
		}
		ids[i], disclosed[i], withheld[i] = v.id, strings.Join(v.disclosed.Names(), ","), strings.Join(w.Names(), ",")
	}
	_, err := tx.Exec(ctx, `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id,
		disclosed, withheld, policy_version, operation_name)
		SELECT 'hand', 'protection_officer@kpwkm', $1::uuid, '{protection_officer}', 'CASE_MANAGEMENT', v::uuid,
			string_to_array(d, ',')::data_category[], string_to_array(w, ',')::data_category[], 'hand', $5
		FROM unnest($2::text[], $3::text[], $4::text[]) AS t(v, d, w)`, h.partnerID, ids, disclosed, withheld, op)
	return err
}

func withheldList(paths map[handWithheldAt][]string) []handWithheld {
	var out []handWithheld
	for k, p := range paths {
		sort.Strings(p)
		out = append(out, handWithheld{"NO_CONSENT", k.category.String(), p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Category < out[j].Category })
	return out
}

func (h *handwritten) one(ctx context.Context, id string) ([]byte, error) {
	tx, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	vs, err := h.victims(ctx, tx, `v.id = $1::uuid AND v.owner_partner_id = $2::uuid`, id, h.partnerID)
	if err != nil || len(vs) != 1 {
		return nil, fmt.Errorf("victim: %d, %v", len(vs), err)
	}
	v := vs[0]
	v.guard(true)
	paths := map[handWithheldAt][]string{}
	for _, w := range v.withheld {
		paths[handWithheldAt{w.category, ""}] = append(paths[handWithheldAt{w.category, ""}], "victim."+w.field)
	}
	if err := h.audit(ctx, tx, vs, "One"); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	resp := map[string]any{"data": map[string]any{"victim": v}}
	if w := withheldList(paths); len(w) > 0 {
		resp["extensions"] = map[string]any{"withheld": w}
	}
	return json.Marshal(resp)
}

func (h *handwritten) list(ctx context.Context) ([]byte, error) {
	tx, err := h.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	vs, err := h.victims(ctx, tx, `v.id IN (SELECT v.id FROM victims v WHERE v.owner_partner_id = $1::uuid ORDER BY v.id LIMIT 100)`, h.partnerID)
	if err != nil {
		return nil, err
	}
	type edge struct {
		Node handListNode `json:"node"`
	}
	edges := make([]edge, len(vs))
	paths := map[handWithheldAt][]string{}
	for i, v := range vs {
		v.guard(false)
		for _, w := range v.withheld {
			k := handWithheldAt{w.category, ""}
			paths[k] = append(paths[k], fmt.Sprintf("victims.edges[%d].node.%s", i, w.field))
		}
		edges[i] = edge{handListNode{v.CaseRef, v.LegalName, v.Gender, v.Phone, v.MedicalNeeds, v.Referrals}}
	}
	if err := h.audit(ctx, tx, vs, "List"); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	resp := map[string]any{"data": map[string]any{"victims": map[string]any{"edges": edges}}}
	if w := withheldList(paths); len(w) > 0 {
		resp["extensions"] = map[string]any{"withheld": w}
	}
	return json.Marshal(resp)
}

// setupHandwritten returns the hub (policy on) and the hand-written baseline on one demo database, the
// officer's token and the id of the first victim of the officer's caseload.
func setupHandwritten(tb testing.TB) (hub variant, hand *handwritten, token, id string) {
	ctx := context.Background()
	url := pgtest.NewDemo(tb)
	vs := variants(tb, url)
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	hand = &handwritten{db: db}
	if err := db.Pool.QueryRow(ctx, `SELECT id::text FROM partners WHERE slug = 'kpwkm'`).Scan(&hand.partnerID); err != nil {
		tb.Fatal(err)
	}
	super, err := pgx.Connect(ctx, pgtest.SuperuserURL(url)) // outside a request the runtime login sees no case
	if err != nil {
		tb.Fatal(err)
	}
	defer super.Close(ctx)
	if err := super.QueryRow(ctx, `SELECT id::text FROM victims ORDER BY id LIMIT 1`).Scan(&id); err != nil {
		tb.Fatal(err)
	}
	token, err = auth.NewIssuer(secret).Issue(auth.Claims{Subject: demo.DemoUsername("protection_officer", "kpwkm"),
		Partner: "kpwkm", Roles: []string{"protection_officer"}}, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return vs[0], hand, token, id
}

// TestHandwrittenMatchesHub: the baseline is only a baseline if it produces the hub's response, byte for
// byte, for both reference operations.
func TestHandwrittenMatchesHub(t *testing.T) {
	hub, hand, token, id := setupHandwritten(t)
	ctx := context.Background()
	want := post(t, hub.handler, token, handOne, map[string]any{"id": id})
	got, err := hand.one(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), got) {
		t.Errorf("one victim:\n hub  %s\n hand %s", want, got)
	}
	want = post(t, hub.handler, token, handList, nil)
	if got, err = hand.list(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), got) {
		t.Errorf("100 victims:\n hub  %.600s\n hand %.600s", want, got)
	}
}

// BenchmarkHubVsHandwritten: the hub's HTTP handler in-process against the hand-written baseline.
func BenchmarkHubVsHandwritten(b *testing.B) {
	hub, hand, token, id := setupHandwritten(b)
	ctx := context.Background()
	b.Run("one-victim/hub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			post(b, hub.handler, token, handOne, map[string]any{"id": id})
		}
	})
	b.Run("one-victim/handwritten", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := hand.one(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("100-victims/hub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			post(b, hub.handler, token, handList, nil)
		}
	})
	b.Run("100-victims/handwritten", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := hand.list(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
