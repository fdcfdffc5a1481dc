// Package web serves GraphiQL, the in-browser GraphQL IDE, from assets
// embedded in the binary. Nothing is loaded from a CDN or any other external
// URL at run time, and the page talks only to the same-origin /graphql
// endpoint.
//
// Layout of the handler returned by GraphiQL:
//
//	GET /                     static/index.html (title "Lindung GraphQL")
//	GET /assets/app.js        page bootstrap: renders GraphiQL against /graphql
//	GET /assets/app.css       page layout
//	GET /assets/vendor/...    React 18, ReactDOM 18 and graphiql 4 browser
//	                          bundles and their licences, copied by build.sh
//
// Any other path is 404; methods other than GET and HEAD are 405.
//
// The asset URLs in index.html are relative, so the handler can be mounted at
// the root or under a prefix that ends in a slash:
//
//	mux.Handle("/", web.GraphiQL())
//	mux.Handle("/graphiql/", http.StripPrefix("/graphiql", web.GraphiQL()))
//
// Every response carries a Content-Security-Policy that allows scripts,
// styles, connections and images only from the same origin (images and fonts
// also from data: URLs, which graphiql's stylesheet uses for its embedded
// fonts), plus X-Content-Type-Options: nosniff and Referrer-Policy:
// no-referrer. Runtime <style> elements that GraphiQL's dialogs insert are
// allowed through a per-response nonce rather than style-src 'unsafe-inline'.
//
// To upgrade the bundles, change the pinned versions in package.json and run
// build.sh (needs npm), then commit package.json, package-lock.json and
// static/. Building the Go code never needs npm.
package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// noncePlaceholder is replaced in index.html by the response's CSP nonce.
const noncePlaceholder = "__LINDUNG_CSP_NONCE__"

// assetCacheControl lets browsers reuse assets for an hour and then
// revalidate them with the ETag (asset names carry no version).
const assetCacheControl = "public, max-age=3600"

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json; charset=utf-8",
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

type handler struct {
	index  []byte
	assets map[string]asset // by URL path, e.g. "/assets/app.js"
}

// GraphiQL returns the handler that serves the GraphiQL page and its assets.
func GraphiQL() http.Handler {
	h, err := newHandler(static)
	if err != nil {
		// The files are embedded at compile time; failing here is a build bug.
		panic("web: " + err.Error())
	}
	return h
}

func newHandler(fsys fs.FS) (*handler, error) {
	index, err := fs.ReadFile(fsys, "static/index.html")
	if err != nil {
		return nil, err
	}
	h := &handler{index: index, assets: map[string]asset{}}
	err = fs.WalkDir(fsys, "static/assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		h.assets[strings.TrimPrefix(name, "static")] = asset{
			body:        body,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	nonce := newNonce()
	setSecurityHeaders(w.Header(), nonce)

	p := r.URL.Path
	var a asset
	var isIndex bool
	switch {
	case p == "/" || p == "":
		isIndex = true
	default:
		var ok bool
		if a, ok = h.assets[p]; !ok {
			http.NotFound(w, r)
			return
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}

	if isIndex {
		body := bytes.ReplaceAll(h.index, []byte(noncePlaceholder), []byte(nonce))
		w.Header().Set("Content-Type", contentTypes[".html"])
		// The page embeds a per-response nonce: never reuse it.
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(body))
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", assetCacheControl)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, path.Base(p), time.Time{}, bytes.NewReader(a.body))
}

// newNonce returns a fresh base64 CSP nonce with 128 bits of randomness.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return base64.StdEncoding.EncodeToString(b[:])
}

// contentSecurityPolicy returns the policy for a response whose page may
// insert <style> elements carrying nonce.
func contentSecurityPolicy(nonce string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'nonce-" + nonce + "'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func setSecurityHeaders(h http.Header, nonce string) {
	h.Set("Content-Security-Policy", contentSecurityPolicy(nonce))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
