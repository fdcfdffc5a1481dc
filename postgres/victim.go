package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/lindung/lindung"
)

// guardedVictimColumns are the columns of victims that carry a data category, as the schema classifies
// the fields they serve, in the order scanVictim reads them.
var guardedVictimColumns = []struct {
	sql string
	cat lindung.Category
}{
	{"v.legal_name", lindung.Identity}, {"v.aliases", lindung.Identity}, {"v.date_of_birth", lindung.Identity},
	{"v.age_band::text", lindung.Demographic}, {"v.gender::text", lindung.Demographic},
	{"v.citizenship", lindung.Demographic}, {"v.languages", lindung.Demographic},
	{"v.interpreter_needed", lindung.Demographic}, {"v.phone", lindung.Contact},
	{"v.trafficking_status::text", lindung.Case}, {"v.exploitation_types::text[]", lindung.Case},
	{"v.sector::text", lindung.Case}, {"v.means_of_control::text[]", lindung.Case}, {"v.identified_on", lindung.Case},
	{"v.medical_needs", lindung.Health}, {"v.counselling_notes", lindung.Counselling},
}

// columnsKey is what the columns read of a victim depend on: the request decision's mask inputs.
type columnsKey struct {
	legal, withConsent lindung.CategorySet
	limit, rows        bool
}

// victimColumnsCache holds the select list per columnsKey: a handful of decisions, built once each.
var victimColumnsCache sync.Map

// victimColumns is the select list of a victim for this request, with the consent and referral bits of
// its viewer (from the viewer_bits join b) computed in the same statement, so that guarding a field
// needs no further query. A guarded column is read only where the request's mask may disclose its
// category for that victim: as it is where the policy opens the category on a legal basis; under a CASE
// on the victim's consent (and, for a role limited to its referrals, referral) bits where it opens the
// category on consent; and never where it does not open it or the request sees no rows. Withheld data is
// then never read, not even to be dropped by the field guard, which still decides what is served.
func (s *Session) victimColumns() string {
	key := columnsKey{s.scope.Legal, s.scope.WithConsent, s.scope.LimitToReferral, s.scope.Rows != lindung.ScopeNone && s.scope.Rows.Valid()}
	if cols, ok := victimColumnsCache.Load(key); ok {
		return cols.(string)
	}
	var b strings.Builder
	b.WriteString(`v.id::text, v.case_ref, v.owner_partner_id::text`)
	for _, c := range guardedVictimColumns {
		bit := strconv.Itoa(1 << c.cat)
		var conds []string
		switch {
		case !key.rows || !(key.legal | key.withConsent).Has(c.cat):
			conds = append(conds, "false")
		case !key.legal.Has(c.cat):
			conds = append(conds, "b.consented & "+bit+" <> 0")
		}
		if key.limit {
			conds = append(conds, "b.referred & "+bit+" <> 0")
		}
		b.WriteString(",\n\t")
		if len(conds) == 0 {
			b.WriteString(c.sql)
		} else {
			b.WriteString("CASE WHEN " + strings.Join(conds, " AND ") + " THEN " + c.sql + " END")
		}
	}
	b.WriteString(`, v.created_at, v.updated_at, b.consented, b.referred`)
	cols, _ := victimColumnsCache.LoadOrStore(key, b.String())
	return cols.(string)
}

// scanVictim reads victimColumns, then any extra columns into extra. A column not read is NULL, and its
// field keeps its zero value: the field guard never serves it.
func scanVictim(row pgx.Row, extra ...any) (*lindung.Victim, error) {
	v := &lindung.Victim{}
	var consented, referred int32
	var interpreter pgtype.Bool
	var status pgtype.Text
	var identified pgtype.Date
	dest := append([]any{&v.ID, &v.CaseRef, &v.OwnerPartnerID, &v.LegalName, &v.Aliases, &v.DateOfBirth,
		&v.AgeBand, &v.Gender, &v.Citizenship, &v.Languages, &interpreter, &v.Phone,
		&status, &v.ExploitationTypes, &v.Sector, &v.MeansOfControl,
		&identified, &v.MedicalNeeds, &v.CounsellingNotes, &v.CreatedAt, &v.UpdatedAt,
		&consented, &referred}, extra...)
	err := row.Scan(dest...)
	v.InterpreterNeeded, v.TraffickingStatus, v.IdentifiedOn = interpreter.Bool, status.String, identified.Time
	v.Owned = lindung.Owned{VictimID: v.ID, Consented: lindung.CategorySet(consented), Referred: lindung.CategorySet(referred), InScope: true}
	return v, err
}

// FindVictimByID returns the victim with id, or ErrNotFound when there is none or it is out of scope.
func (s *Session) FindVictimByID(ctx context.Context, id string) (*lindung.Victim, error) {
	vs, err := s.FindVictimsByIDs(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if vs[0] == nil {
		return nil, lindung.ErrNotFound
	}
	return vs[0], nil
}

// FindVictimsByIDs returns the victims with the given ids, aligned to ids, nil where none is visible.
// Ids that are not UUIDs are simply not found.
func (s *Session) FindVictimsByIDs(ctx context.Context, ids []string) ([]*lindung.Victim, error) {
	return findByIDs(ctx, s, ids, `SELECT `+s.victimColumns()+` FROM victims v
		`+s.victimBitsJoin()+`
		WHERE v.id = ANY(@ids::uuid[]) AND `+s.visibleVictims(),
		func(r pgx.CollectableRow) (*lindung.Victim, error) { return scanVictim(r) },
		func(v *lindung.Victim) string { return v.ID })
}

// FindVictims returns one page of the visible victims matching filter, ordered by id, with the number of
// visible matches when page.Count asks for it. Filters only use fields that are not guarded, so they
// cannot reveal a withheld value.
func (s *Session) FindVictims(ctx context.Context, f lindung.VictimFilter, page lindung.Page) (*lindung.VictimPage, error) {
	// A malformed id would fail its cast in the database and abort the request's transaction: an unknown
	// shelter matches nothing, and a cursor the store never issued is refused before any query.
	if page.After != "" && !canonicalUUID(page.After) {
		return nil, lindung.Invalid("after", "after is not a cursor this hub issued")
	}
	where := s.visibleVictims()
	args := s.args(pgx.NamedArgs{"limit": max(page.First, 0) + 1})
	// A case reference is looked up through victims_by_case_ref (migration 010), which does the same
	// work for another agency's reference as for one that names no case; the victims are read from its
	// ids, so no foreign row is ever reached.
	from := `victims v`
	if f.CaseRef != nil {
		from = `victims_by_case_ref(ARRAY[@case_ref::text]) AS k (id) JOIN victims v ON v.id = k.id`
		args["case_ref"] = *f.CaseRef
	}
	if f.ShelterID != nil && !canonicalUUID(*f.ShelterID) {
		where += ` AND false`
	} else if f.ShelterID != nil {
		where += ` AND EXISTS (SELECT 1 FROM placements p WHERE p.victim_id = v.id AND p.to_date IS NULL AND p.shelter_id = @shelter::uuid)`
		args["shelter"] = *f.ShelterID
	}
	if page.After != "" {
		args["after"] = page.After
	}
	// The page is read in id order from the scope's index and stops after @limit rows, so its cost does not
	// grow with the table; the viewer's bits are computed for those rows only. The count, which does grow
	// with the visible set, is read only when the client asks for totalCount.
	keyset := ""
	if page.After != "" {
		keyset = ` AND v.id > @after::uuid`
	}
	count := ``
	if page.Count {
		count = `, (SELECT count(*) FROM ` + from + ` WHERE ` + where + `)`
	}
	sql := `SELECT ` + s.victimColumns() + count + ` FROM ` + from + ` ` + s.victimBitsJoin() + `
		WHERE ` + where + keyset + ` ORDER BY v.id LIMIT @limit`
	out := &lindung.VictimPage{}
	err := s.query(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		var extra []any
		var total int
		if page.Count {
			extra = append(extra, &total)
		}
		for rows.Next() {
			v, err := scanVictim(rows, extra...)
			if err != nil {
				return err
			}
			out.Victims = append(out.Victims, v)
			out.TotalCount = total
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapError(err, "find victims")
	}
	fetched := len(out.Victims)
	if fetched > page.First {
		out.Victims = out.Victims[:max(page.First, 0)]
		out.HasNext = true
	}
	if fetched == 0 && page.After == "" {
		out.TotalCount = 0
	} else if fetched == 0 && page.Count {
		// The page is past the end; count the matches on their own so totalCount stays right.
		err := s.query(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM `+from+` WHERE `+where, args).Scan(&out.TotalCount)
		})
		if err != nil {
			return nil, mapError(err, "count victims")
		}
	}
	return out, nil
}

// CreateVictim registers a victim, owned by the session's partner. It fills in v's id and timestamps.
func (s *Session) CreateVictim(ctx context.Context, v *lindung.Victim) error {
	v.OwnerPartnerID = s.scope.PartnerID
	err := s.query(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO victims (case_ref, owner_partner_id, legal_name, aliases,
			date_of_birth, age_band, gender, citizenship, languages, interpreter_needed, phone,
			trafficking_status, exploitation_types, sector, means_of_control, identified_on, medical_needs,
			counselling_notes)
			VALUES (@case_ref, @owner::uuid, @legal_name, @aliases, @dob, @age_band::age_band, @gender::gender,
			@citizenship, @languages, @interpreter, @phone, @status::trafficking_status,
			@exploitation::exploitation_type[], @sector::sector, @control::means_of_control[],
			coalesce(@identified_on, current_date), @medical, @counselling)
			RETURNING id::text, identified_on, created_at, updated_at`,
			pgx.NamedArgs{"case_ref": v.CaseRef, "owner": v.OwnerPartnerID, "legal_name": v.LegalName,
				"aliases": nonNil(v.Aliases), "dob": v.DateOfBirth, "age_band": v.AgeBand, "gender": v.Gender,
				"citizenship": nonNil(v.Citizenship), "languages": nonNil(v.Languages),
				"interpreter": v.InterpreterNeeded, "phone": v.Phone, "status": v.TraffickingStatus,
				"exploitation": nonNil(v.ExploitationTypes), "sector": v.Sector, "control": nonNil(v.MeansOfControl),
				"identified_on": nullTime(v.IdentifiedOn), "medical": v.MedicalNeeds, "counselling": v.CounsellingNotes,
			}).Scan(&v.ID, &v.IdentifiedOn, &v.CreatedAt, &v.UpdatedAt)
	})
	if err != nil {
		return mapError(err, "create victim")
	}
	v.Owned = lindung.Owned{VictimID: v.ID, InScope: true}
	return nil
}

// UpdateVictim changes the given fields of a visible victim and returns it as it now is.
func (s *Session) UpdateVictim(ctx context.Context, id string, u lindung.VictimUpdate) (*lindung.Victim, error) {
	if len(validUUIDs([]string{id})) == 0 {
		return nil, lindung.ErrNotFound
	}
	var n int64
	err := s.query(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE victims v SET
			legal_name = coalesce(@legal_name, legal_name),
			aliases = coalesce(@aliases, aliases),
			date_of_birth = coalesce(@dob, date_of_birth),
			age_band = coalesce(@age_band::age_band, age_band),
			gender = coalesce(@gender::gender, gender),
			citizenship = coalesce(@citizenship, citizenship),
			languages = coalesce(@languages, languages),
			interpreter_needed = coalesce(@interpreter, interpreter_needed),
			phone = coalesce(@phone, phone),
			trafficking_status = coalesce(@status::trafficking_status, trafficking_status),
			exploitation_types = coalesce(@exploitation::exploitation_type[], exploitation_types),
			sector = coalesce(@sector::sector, sector),
			means_of_control = coalesce(@control::means_of_control[], means_of_control),
			medical_needs = coalesce(@medical, medical_needs),
			counselling_notes = coalesce(@counselling, counselling_notes),
			updated_at = now()
			WHERE v.id = @id::uuid AND `+s.visibleVictims(),
			s.args(pgx.NamedArgs{"id": id, "legal_name": u.LegalName, "aliases": u.Aliases, "dob": u.DateOfBirth,
				"age_band": u.AgeBand, "gender": u.Gender, "citizenship": u.Citizenship, "languages": u.Languages,
				"interpreter": u.InterpreterNeeded, "phone": u.Phone, "status": u.TraffickingStatus,
				"exploitation": u.ExploitationTypes, "sector": u.Sector, "control": u.MeansOfControl,
				"medical": u.MedicalNeeds, "counselling": u.CounsellingNotes}))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return nil, mapError(err, "update victim")
	}
	if n == 0 {
		return nil, lindung.ErrNotFound
	}
	return s.FindVictimByID(ctx, id)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
