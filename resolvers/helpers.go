package resolvers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
)

// loaders returns the request's loaders. The server gives every operation a Request; reaching a
// resolver without one is a wiring fault, and panicking turns it into an INTERNAL error with no data.
func loaders(ctx context.Context) *Loaders {
	r := RequestFrom(ctx)
	if r == nil || r.Loaders == nil {
		panic("resolver reached without a request")
	}
	return r.Loaders
}

// authorize returns the request when its roles may take action a, and FORBIDDEN otherwise.
func authorize(ctx context.Context, a lindung.Action) (*Request, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	if !req.Decision.May(a) {
		return nil, lindung.Errorf(lindung.EFORBIDDEN, "your role may not %s", strings.ReplaceAll(string(a), "_", " "))
	}
	return req, nil
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

func validatePartner(p *lindung.Partner) error {
	if !slugPattern.MatchString(p.Slug) {
		return lindung.Invalid("slug", "a slug is 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	if p.Name == "" || len(p.Name) > 200 {
		return lindung.Invalid("name", "a name of 1 to 200 characters is required")
	}
	return nil
}

var (
	caseRefPattern     = regexp.MustCompile(`^[A-Z]{2,5}-[0-9]{4}-[0-9]{6}$`)
	citizenshipPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

func validateVictimFields(caseRef *string, legalName *string, citizenship []string, phone *string, dob *time.Time) error {
	if caseRef != nil && !caseRefPattern.MatchString(*caseRef) {
		return lindung.Invalid("caseRef", "a case reference looks like LDG-2026-000123")
	}
	if legalName != nil && (strings.TrimSpace(*legalName) == "" || len(*legalName) > 200) {
		return lindung.Invalid("legalName", "a legal name has 1 to 200 characters")
	}
	for _, c := range citizenship {
		if !citizenshipPattern.MatchString(c) {
			return lindung.Invalid("citizenship", "%q is not an ISO 3166-1 alpha-3 code such as IDN", c)
		}
	}
	if phone != nil && (len(*phone) < 3 || len(*phone) > 40) {
		return lindung.Invalid("phone", "a phone number has 3 to 40 characters")
	}
	if dob != nil && (dob.Before(time.Date(1900, 1, 2, 0, 0, 0, 0, time.UTC)) || dob.After(time.Now())) {
		return lindung.Invalid("dateOfBirth", "the date of birth must be after 1900-01-01 and not in the future")
	}
	return nil
}

func newVictim(in model.CreateVictimInput) (*lindung.Victim, error) {
	if err := validateVictimFields(&in.CaseRef, in.LegalName, in.Citizenship, in.Phone, in.DateOfBirth); err != nil {
		return nil, err
	}
	v := &lindung.Victim{CaseRef: in.CaseRef, LegalName: in.LegalName, Aliases: in.Aliases, DateOfBirth: in.DateOfBirth,
		AgeBand: in.AgeBand, Gender: in.Gender, Citizenship: in.Citizenship, Languages: in.Languages, Phone: in.Phone,
		TraffickingStatus: "PRESUMED", ExploitationTypes: in.ExploitationTypes, Sector: in.Sector,
		MeansOfControl: in.MeansOfControl, MedicalNeeds: in.MedicalNeeds, CounsellingNotes: in.CounsellingNotes}
	if in.InterpreterNeeded != nil {
		v.InterpreterNeeded = *in.InterpreterNeeded
	}
	if in.TraffickingStatus != nil {
		v.TraffickingStatus = *in.TraffickingStatus
	}
	if in.IdentifiedOn != nil {
		v.IdentifiedOn = *in.IdentifiedOn
	}
	return v, nil
}

func victimUpdate(in model.UpdateVictimInput) (lindung.VictimUpdate, error) {
	if err := validateVictimFields(nil, in.LegalName, in.Citizenship, in.Phone, in.DateOfBirth); err != nil {
		return lindung.VictimUpdate{}, err
	}
	return lindung.VictimUpdate{LegalName: in.LegalName, Aliases: in.Aliases, DateOfBirth: in.DateOfBirth,
		AgeBand: in.AgeBand, Gender: in.Gender, Citizenship: in.Citizenship, Languages: in.Languages,
		InterpreterNeeded: in.InterpreterNeeded, Phone: in.Phone, TraffickingStatus: in.TraffickingStatus,
		ExploitationTypes: in.ExploitationTypes, Sector: in.Sector, MeansOfControl: in.MeansOfControl,
		MedicalNeeds: in.MedicalNeeds, CounsellingNotes: in.CounsellingNotes}, nil
}

// findService returns a catalogue entry. The catalogue is a handful of rows, read once per request.
func findService(ctx context.Context, code string) (*lindung.Service, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	req.servicesOnce.Do(func() { req.services, req.servicesErr = req.Session.FindServices(ctx) })
	if req.servicesErr != nil {
		return nil, req.servicesErr
	}
	for _, s := range req.services {
		if s.Code == code {
			return s, nil
		}
	}
	return nil, nil
}

var purposeWords = map[lindung.Purpose]string{
	lindung.PurposeCaseManagement:  "to manage your case",
	lindung.PurposeServiceDelivery: "to provide a service to you",
	lindung.PurposeProsecution:     "for the investigation and prosecution",
	lindung.PurposeEmploymentCheck: "to check your permission to work",
	lindung.PurposeStatistics:      "for statistics",
	lindung.PurposeFamilyContact:   "to arrange contact with your family",
}

// disclosureSentence phrases a disclosure for reading out to the victim.
func disclosureSentence(d *lindung.Disclosure) string {
	var words []string
	for _, c := range d.Categories.List() {
		words = append(words, strings.ToLower(c.String()))
	}
	what := "your case reference"
	if len(words) > 0 {
		what = "your " + joinWords(words) + " information"
	}
	why := purposeWords[d.Purpose]
	if d.Purpose == lindung.PurposeEmergency {
		why = emergencyWords(d.EmergencyReason)
	}
	return fmt.Sprintf("On %s, %s saw %s %s.", d.At.Format("2 January 2006"), d.PartnerName, what, why)
}

func joinWords(w []string) string {
	if len(w) == 1 {
		return w[0]
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}

// fieldNames returns the names of the fields an input sets, for the change log: names, never values.
func fieldNames(input any) []string {
	b, err := json.Marshal(input)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for k, v := range m {
		if string(v) != "null" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// b64 is how the access log's hashes and leaves are served: standard base64, as in its signed checkpoints.
func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
