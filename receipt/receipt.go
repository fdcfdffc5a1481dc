// Package receipt writes the receipt a victim is given for a consent: in plain language, who may see what,
// for which purposes, until when, and how to withdraw. The texts are in one catalog file per language
// (en.json, ms.json), so that a translator edits words, not code; a catalog that lacks a text the
// receipt needs fails the package's tests and Render, never silently.
package receipt

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lindung/lindung"
)

//go:embed *.json
var catalogFiles embed.FS

// Languages are the languages a receipt is written in, as the schema names them, with their catalogs.
var Languages = map[string]string{"EN": "en.json", "MS": "ms.json"}

// Catalog is one language's texts, by key; {name} marks where a value goes.
type Catalog map[string]string

var catalogs = sync.OnceValues(func() (map[string]Catalog, error) {
	out := map[string]Catalog{}
	for lang, file := range Languages {
		b, err := catalogFiles.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var c Catalog
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("receipt catalog %s: %w", file, err)
		}
		out[lang] = c
	}
	return out, nil
})

// CatalogFor returns the texts of language (EN or MS).
func CatalogFor(language string) (Catalog, error) {
	all, err := catalogs()
	if err != nil {
		return nil, err
	}
	c, ok := all[language]
	if !ok {
		return nil, fmt.Errorf("no receipt catalog for language %q", language)
	}
	return c, nil
}

// Consent is what a receipt says about one consent. Names are resolved by the caller, so that the
// package neither queries nor decides.
type Consent struct {
	*lindung.Consent
	// GranteeNames are the names of the partners granted by id, by partner id.
	GranteeNames map[string]string
	// InterpreterName is the name of the interpreting partner, "" when none interpreted.
	InterpreterName string
}

// Render writes the receipt of c in language (EN or MS).
func Render(language string, c Consent) (string, error) {
	cat, err := CatalogFor(language)
	if err != nil {
		return "", err
	}
	var missing []string
	text := func(key string, values ...string) string {
		t, ok := cat[key]
		if !ok {
			missing = append(missing, key)
			return ""
		}
		return strings.NewReplacer(values...).Replace(t)
	}
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	list := func(items []string) string {
		if len(items) <= 1 {
			return strings.Join(items, "")
		}
		return strings.Join(items[:len(items)-1], ", ") + " " + text("and") + " " + items[len(items)-1]
	}
	lines := []string{text("title", "{id}", c.ID)}
	if c.InterpreterName != "" {
		lines = append(lines, text("recordedInterpreter", "{date}", day(c.RecordedAt), "{language}", c.Language,
			"{interpreter}", c.InterpreterName))
	} else {
		lines = append(lines, text("recorded", "{date}", day(c.RecordedAt), "{language}", c.Language))
	}
	if c.GrantorRelation == "MOTHER" {
		lines = append(lines, text("grantor.MOTHER"))
	}
	lines = append(lines, text("intro"))
	for _, p := range c.Provisions {
		grantee := text("grantee.unknown")
		switch {
		case p.GranteeType != nil:
			grantee = text("grantee.type." + string(*p.GranteeType))
		case p.GranteePartnerID != nil && c.GranteeNames[*p.GranteePartnerID] != "":
			grantee = c.GranteeNames[*p.GranteePartnerID]
		}
		var cats, purposes []string
		for _, cat := range p.Categories.List() {
			cats = append(cats, text("category."+cat.String()))
		}
		for _, pu := range p.Purposes {
			purposes = append(purposes, text("purpose."+string(pu)))
		}
		until := text("untilWithdrawn")
		if p.PeriodEnd != nil {
			until = text("until", "{end}", day(*p.PeriodEnd))
		}
		lines = append(lines, text("grant", "{grantee}", grantee, "{categories}", list(cats),
			"{purposes}", list(purposes), "{start}", day(p.PeriodStart), "{until}", until))
	}
	withdrawn := ""
	if c.WithdrawnAt != nil {
		withdrawn = day(*c.WithdrawnAt)
	}
	lines = append(lines, text("status."+c.Status, "{date}", withdrawn), text("withdraw", "{id}", c.ID))
	if len(missing) > 0 {
		return "", fmt.Errorf("receipt catalog %s lacks %s", language, strings.Join(missing, ", "))
	}
	return strings.Join(lines, "\n"), nil
}
