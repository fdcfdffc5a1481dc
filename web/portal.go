package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

// The partner portal: pages for the NGO caseworker, the employer's HR clerk, the protection officer and the
// hub operator, served like the dashboard (same handler, same Content-Security-Policy). The pages are plain
// JavaScript modules written for Lindung, with no framework and nothing from a CDN; every page calls the
// public GraphQL API (../graphql) with the caller's own token, kept in the tab's sessionStorage only.
//
//	GET /                          portal/static/index.html
//	GET /assets/portal.js          sign-in, the API client, routing, the shared widgets
//	GET /assets/i18n.js            message lookup over the catalogs
//	GET /assets/{ngo,employer,officer,operator}.js   one role's pages, loaded for that role only
//	GET /assets/portal.css         layout, and the print layout of the victim's documents
//	GET /assets/i18n/XX.json       a message catalog (XX: a BCP 47 language tag)
//	GET /assets/i18n/languages.json  the catalogs found, as [{"code": "en", "name": "English"}, ...]
//
// A language is added by adding its catalog: languages.json is made at start from the embedded files.
// The server mounts the portal under /portal/.

//go:embed portal/static
var portalFiles embed.FS

// Portal returns the handler that serves the partner portal and its assets.
func Portal() http.Handler {
	sub, err := fs.Sub(portalFiles, "portal")
	if err == nil {
		var h *handler
		if h, err = newHandler(sub); err == nil {
			var body []byte
			if body, err = languages(sub); err == nil {
				sum := sha256.Sum256(body)
				h.assets["/assets/i18n/languages.json"] = asset{body: body, contentType: contentTypes[".json"],
					etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
				return h
			}
		}
	}
	// The files are embedded at compile time; failing here is a build bug.
	panic("web: portal: " + err.Error())
}

// Language is a message catalog of the portal.
type Language struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// languages lists the catalogs in static/assets/i18n, English first, each named by its own
// "language.name" message (in that language).
func languages(fsys fs.FS) ([]byte, error) {
	entries, err := fs.ReadDir(fsys, "static/assets/i18n")
	if err != nil {
		return nil, err
	}
	var out []Language
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".json" || e.Name() == "languages.json" {
			continue
		}
		body, err := fs.ReadFile(fsys, "static/assets/i18n/"+e.Name())
		if err != nil {
			return nil, err
		}
		var catalog map[string]string
		if err := json.Unmarshal(body, &catalog); err != nil {
			return nil, &fs.PathError{Op: "parse", Path: e.Name(), Err: err}
		}
		code := strings.TrimSuffix(e.Name(), ".json")
		name := catalog["language.name"]
		if name == "" {
			name = code
		}
		out = append(out, Language{Code: code, Name: name})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Code == "en") != (out[j].Code == "en") {
			return out[i].Code == "en"
		}
		return out[i].Code < out[j].Code
	})
	return json.Marshal(out)
}
