package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// victimColumns are read for every victim, with the consent and referral bits of this request's viewer
// computed in the same statement, so that guarding a field needs no further query.
const victimColumns = `v.id::text, v.case_ref, v.owner_partner_id::text, v.legal_name, v.aliases, v.date_of_birth,
	v.age_band::text, v.gender::text, v.citizenship, v.languages, v.interpreter_needed, v.phone,
	v.trafficking_status::text, v.exploitation_types::text[], v.sector::text, v.means_of_control::text[],
	v.identified_on, v.medical_needs, v.counselling_notes, v.created_at, v.updated_at,
	b.consented, b.referred`

// scanVictim reads victimColumns, then any extra columns into extra.
func scanVictim(row pgx.Row, extra ...any) (*lindung.Victim, error) {
	v := &lindung.Victim{}
	var consented, referred int32
	dest := append([]any{&v.ID, &v.CaseRef, &v.OwnerPartnerID, &v.LegalName, &v.Aliases, &v.DateOfBirth,
		&v.AgeBand, &v.Gender, &v.Citizenship, &v.Languages, &v.InterpreterNeeded, &v.Phone,
		&v.TraffickingStatus, &v.ExploitationTypes, &v.Sector, &v.MeansOfControl,
		&v.IdentifiedOn, &v.MedicalNeeds, &v.CounsellingNotes, &v.CreatedAt, &v.UpdatedAt,
		&consented, &referred}, extra...)
	err := row.Scan(dest...)
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
	return findByIDs(ctx, s, ids, `SELECT `+victimColumns+` FROM victims v
		JOIN access_bits(@ids::uuid[]) b ON b.victim_id = v.id
		WHERE v.id = ANY(@ids::uuid[]) AND `+s.visibleVictims(),
		func(r pgx.CollectableRow) (*lindung.Victim, error) { return scanVictim(r) },
		func(v *lindung.Victim) string { return v.ID })
}

// FindVictims returns one page of the visible victims matching filter, ordered by id, with the number of
// visible matches. Filters only use fields that are not guarded, so they cannot reveal a withheld value.
func (s *Session) FindVictims(ctx context.Context, f lindung.VictimFilter, page lindung.Page) (*lindung.VictimPage, error) {
	// A malformed id would fail its cast in the database and abort the request's transaction: an unknown
	// shelter matches nothing, and a cursor the store never issued is refused before any query.
	if page.After != "" && !canonicalUUID(page.After) {
		return nil, lindung.Invalid("after", "after is not a cursor this hub issued")
	}
	where := s.visibleVictims()
	args := s.args(pgx.NamedArgs{"limit": max(page.First, 0) + 1})
	if f.CaseRef != nil {
		where += ` AND v.case_ref = @case_ref`
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
	// The count reads ids only; the page reads full rows only for the rows it returns.
	keyset := ""
	if page.After != "" {
		keyset = ` AND v.id > @after::uuid`
	}
	sql := `WITH page AS (SELECT v.id FROM victims v WHERE ` + where + keyset + ` ORDER BY v.id LIMIT @limit)
		SELECT ` + victimColumns + `, (SELECT count(*) FROM victims v WHERE ` + where + `)
		FROM victims v JOIN access_bits(ARRAY(SELECT id FROM page)) b ON b.victim_id = v.id
		WHERE v.id IN (SELECT id FROM page) ORDER BY v.id`
	out := &lindung.VictimPage{}
	err := s.query(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var total int
			v, err := scanVictim(rows, &total)
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
	} else if fetched == 0 {
		// The page is past the end; count the matches on their own so totalCount stays right.
		err := s.query(ctx, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM victims v WHERE `+where, args).Scan(&out.TotalCount)
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
