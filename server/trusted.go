package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/lindung/lindung"
)

// TrustedDocuments is an allow-list of GraphQL documents, keyed by the lowercase hex SHA-256 of the
// document text. Partner types the hub holds to it may run only these documents: an external partner's
// system asks the questions agreed with it and no others, even with a stolen token.
type TrustedDocuments struct {
	docs map[string]string
}

// LoadTrustedDocuments reads a JSON object mapping SHA-256 hex to document text, the format of Apollo's
// and GraphQL Codegen's persisted-document manifests. A key that is not the hash of its document is an
// error: a mistyped manifest should stop the hub at start, not refuse a partner at run time.
func LoadTrustedDocuments(path string) (*TrustedDocuments, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trusted documents: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("trusted documents %s: want a JSON object of sha256 hex to document: %w", path, err)
	}
	return NewTrustedDocuments(m)
}

// NewTrustedDocuments checks an allow-list given as hash → document.
func NewTrustedDocuments(m map[string]string) (*TrustedDocuments, error) {
	t := &TrustedDocuments{docs: make(map[string]string, len(m))}
	for hash, doc := range m {
		got := documentHash(doc)
		if got != strings.ToLower(hash) {
			return nil, fmt.Errorf("trusted documents: key %s is not the sha256 of its document (that is %s)", hash, got)
		}
		t.docs[got] = doc
	}
	return t, nil
}

// Len returns how many documents the list holds.
func (t *TrustedDocuments) Len() int { return len(t.docs) }

func documentHash(doc string) string {
	h := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(h[:])
}

// lookup returns the document of a hash; a nil list holds none.
func (t *TrustedDocuments) lookup(hash string) (string, bool) {
	if t == nil {
		return "", false
	}
	d, ok := t.docs[strings.ToLower(hash)]
	return d, ok
}

// has reports whether the list holds the document of a lowercase hex hash; a nil list holds none.
func (t *TrustedDocuments) has(hash string) bool {
	_, ok := t.lookup(hash)
	return ok
}

// trustedFor reports whether the hub holds partners of type pt to the trusted documents.
func (s *Server) trustedFor(pt lindung.PartnerType) bool {
	return pt != "" && slices.Contains(s.cfg.TrustedFor, pt)
}

// resolveDocument handles extensions.persistedQuery.sha256Hash: a known hash stands for its document;
// an unknown hash without a query is refused, because the hub never registers documents sent by clients
// (gqlgen's automatic persisted queries stay off), so nothing a client sends can widen the list. It then
// notes whether the query is a trusted document, and refuses an untrusted one from a partner whose
// token says it is of a type held to the list; aroundOperation checks the partner's recorded type too.
func (s *Server) resolveDocument(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	hash, err := persistedHash(p.Extensions)
	if err != nil {
		return refusal(ctx, http.StatusBadRequest, err)
	}
	if hash != "" {
		doc, known := s.cfg.TrustedDocuments.lookup(hash)
		switch {
		case p.Query == "" && known:
			p.Query = doc
		case p.Query == "":
			return refusal(ctx, http.StatusBadRequest, lindung.Errorf(lindung.EPERSISTEDQUERYNOTFOUND,
				"this hub does not hold a document with that sha256Hash and does not register documents: send the query"))
		case documentHash(p.Query) != strings.ToLower(hash):
			return refusal(ctx, http.StatusBadRequest, lindung.Invalid("extensions.persistedQuery.sha256Hash",
				"sha256Hash is not the SHA-256 of the query"))
		}
	}
	c := callerFrom(ctx)
	if c == nil || s.cfg.TrustedDocuments == nil {
		return nil
	}
	_, c.trustedDocument = s.cfg.TrustedDocuments.lookup(documentHash(p.Query))
	if !c.trustedDocument && s.trustedFor(c.claims.PartnerType) {
		return refusal(ctx, http.StatusForbidden, untrustedDocument())
	}
	return nil
}

func untrustedDocument() *lindung.Error {
	return lindung.Errorf(lindung.EFORBIDDEN,
		"your organisation may run only the documents agreed with the hub, and this is not one of them")
}

// persistedHash returns extensions.persistedQuery.sha256Hash, "" when the request has none.
func persistedHash(ext map[string]any) (string, *lindung.Error) {
	pq, ok := ext["persistedQuery"]
	if !ok || pq == nil {
		return "", nil
	}
	m, ok := pq.(map[string]any)
	if !ok {
		return "", lindung.Invalid("extensions.persistedQuery", "persistedQuery must be an object with a sha256Hash")
	}
	h, ok := m["sha256Hash"].(string)
	if !ok || len(h) != 64 {
		return "", lindung.Invalid("extensions.persistedQuery.sha256Hash", "sha256Hash must be 64 hex digits")
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", lindung.Invalid("extensions.persistedQuery.sha256Hash", "sha256Hash must be 64 hex digits")
	}
	return h, nil
}
