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
// the fields they serve, in the order scanVictim reads them: the column, the typed NULL that stands for it
// where it is not read, its category, and the field of Victim it serves.
var guardedVictimColumns = []struct {
	sql, null string
	cat       lindung.Category
	field     string
}{
	{"v.legal_name", "NULL::text", lindung.Identity, "legalName"},
	{"v.aliases", "NULL::text[]", lindung.Identity, "aliases"},
	{"v.date_of_birth", "NULL::date", lindung.Identity, "dateOfBirth"},
	{"v.age_band::text", "NULL::text", lindung.Demographic, "ageBand"},
	{"v.gender::text", "NULL::text", lindung.Demographic, "gender"},
	{"v.citizenship", "NULL::text[]", lindung.Demographic, "citizenship"},
	{"v.languages", "NULL::text[]", lindung.Demographic, "languages"},
	{"v.interpreter_needed", "NULL::boolean", lindung.Demographic, "interpreterNeeded"},
	{"v.phone", "NULL::text", lindung.Contact, "phone"},
	{"v.trafficking_status::text", "NULL::text", lindung.Case, "traffickingStatus"},
	{"v.exploitation_types::text[]", "NULL::text[]", lindung.Case, "exploitationTypes"},
	{"v.sector::text", "NULL::text", lindung.Case, "sector"},
	{"v.means_of_control::text[]", "NULL::text[]", lindung.Case, "meansOfControl"},
	{"v.identified_on", "NULL::date", lindung.Case, "identifiedOn"},
	{"v.medical_needs", "NULL::text", lindung.Health, "medicalNeeds"},
	{"v.counselling_notes", "NULL::text", lindung.Counselling, "counsellingNotes"},
}

// victimFieldsWithoutColumns are the fields of Victim that need no guarded column: id and caseRef are
// always read, and the others are resolved from other tables by the victim's id and its consent and
// referral bits, which are always read too. Any other field (withheld, a field added later) reads every
// column: a field not known here to need nothing might need anything.
var victimFieldsWithoutColumns = map[string]bool{
	"__typename": true, "id": true, "caseRef": true,
	"currentShelter": true, "placements": true, "protectionOrders": true, "services": true, "referrals": true,
	"consents": true, "family": true, "workEligibility": true, "familyContacts": true,
}

// maxColumnSets bounds the column sets that sessions read narrowed, process-wide. Each set is one more
// select list per decision in victimColumnsCache, and more statements for the connections' statement
// caches; a client could otherwise send a query for each of the 65536 subsets of the guarded fields. A set
// beyond the bound reads every column, as before narrowing: real clients send a few dozen shapes.
const maxColumnSets = 256

// columnSets holds the unread masks admitted so far.
var (
	columnSetsMu sync.Mutex
	columnSets   = map[uint32]bool{}
)

// unreadColumns returns the mask of the guarded columns (bit i for guardedVictimColumns[i]) that a session
// need not read when its operation can resolve no field of Victim but fields: 0, every column read, when
// fields is nil (any caller but a GraphQL query), names a field whose needs are not known, or would be a
// column set beyond maxColumnSets. Every victim a session reads, for any field of its operation and for the victim
// loader it primes, is read with the same columns, so no field ever finds a victim read without its value.
func unreadColumns(fields map[string]bool) uint32 {
	if fields == nil {
		return 0
	}
	for f := range fields {
		if !victimFieldsWithoutColumns[f] && !hasColumn(f) {
			return 0
		}
	}
	var unread uint32
	for i, c := range guardedVictimColumns {
		if !fields[c.field] {
			unread |= 1 << i
		}
	}
	if unread == 0 {
		return 0
	}
	columnSetsMu.Lock()
	defer columnSetsMu.Unlock()
	if !columnSets[unread] {
		if len(columnSets) >= maxColumnSets {
			return 0
		}
		columnSets[unread] = true
	}
	return unread
}

// hasColumn reports whether field is served by a guarded column.
func hasColumn(field string) bool {
	for _, c := range guardedVictimColumns {
		if c.field == field {
			return true
		}
	}
	return false
}

// columnsKey is what the columns read of a victim depend on: the request decision's mask inputs, and the
// guarded columns its operation does not need (unreadColumns).
type columnsKey struct {
	legal, withConsent lindung.CategorySet
	limit, rows        bool
	unread             uint32
}

// victimColumnsCache holds the select list per columnsKey: a handful of decisions and column sets, built
// once each.
var victimColumnsCache sync.Map

// victimColumns is the select list of a victim for this request, with the consent and referral bits of
// its viewer (from the bits join b, bitsFunction) computed in the same statement, so that guarding a field
// needs no further query. A guarded column is read only where the request's mask may disclose its
// category for that victim: as it is where the policy opens the category on a legal basis; under a CASE
// on the victim's consent (and, for a role limited to its referrals, referral) bits where it opens the
// category on consent; and never where it does not open it or the request sees no rows. Withheld data is
// then never read, not even to be dropped by the field guard, which still decides what is served.
// A column the request's operation cannot ask for (Session.unread) is not read either: it is a NULL of
// its type, so that the statement keeps its shape and scanVictim its destinations.
func (s *Session) victimColumns() string {
	key := columnsKey{s.scope.Legal, s.scope.WithConsent, s.scope.LimitToReferral,
		s.scope.Rows != lindung.ScopeNone && s.scope.Rows.Valid(), s.unread}
	if cols, ok := victimColumnsCache.Load(key); ok {
		return cols.(string)
	}
	var b strings.Builder
	b.WriteString(`v.id::text, v.case_ref, v.owner_partner_id::text`)
	for i, c := range guardedVictimColumns {
		b.WriteString(",\n\t")
		if key.unread&(1<<i) != 0 {
			b.WriteString(c.null)
			continue
		}
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
	err := s.query(ctx, func(tx querier) error {
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
		err := s.query(ctx, func(tx querier) error {
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
	err := s.query(ctx, func(tx querier) error {
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
	err := s.query(ctx, func(tx querier) error {
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
