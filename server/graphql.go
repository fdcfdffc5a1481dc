package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/resolvers"
)

// newGraphQLHandler builds the executor with explicit transports (POST with JSON only), the parsed-query
// cache, the request guard (limits, trusted documents, introspection, eligibility rate), the error
// presenter and panic recovery, and the per-operation session and audit. gqlgen's automatic persisted
// queries stay off: they would let a client register documents (see resolveDocument).
func (s *Server) newGraphQLHandler(schema graphql.ExecutableSchema) http.Handler {
	h := handler.New(schema)
	h.AddTransport(transport.POST{})
	h.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	h.SetDisableSuggestion(true)
	h.Use(telemetryExtension{s}) // first: the outermost interceptor sees each response as it leaves
	if tracingOn(s.cfg.Tracer) {
		h.Use(fieldSpans{s.tracer})
	}
	h.Use(extension.Introspection{})
	h.Use(requestGuard{s})
	h.SetErrorPresenter(s.presentError)
	h.SetRecoverFunc(func(ctx context.Context, p any) error {
		// The panic's value is not logged, only its type and the stack: a value may hold victim data.
		s.cfg.Logger.ErrorContext(ctx, "panic", "request_id", RequestID(ctx), "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
		return lindung.Internal(fmt.Errorf("panic of type %T", p), "resolver")
	})
	h.AroundOperations(s.aroundOperation)
	return withoutData(h)
}

// withoutData leaves the data entry out of a response to a request error (a document that does not
// parse or validate, variables that do not coerce, a request refused before execution): the GraphQL
// specification says such a result has no data entry, and the GraphQL-over-HTTP audit checks it. gqlgen
// writes "data": null for every response; a response whose execution began keeps it, null or not.
func withoutData(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&dataDropper{ResponseWriter: w, obs: observationFrom(r.Context())}, r)
	})
}

// dataDropper rewrites the one JSON body gqlgen writes for a response when obs says nothing executed.
type dataDropper struct {
	http.ResponseWriter
	obs *observation
}

func (d *dataDropper) Write(b []byte) (int, error) {
	if d.obs == nil {
		return d.ResponseWriter.Write(b)
	}
	d.obs.mu.Lock()
	drop := d.obs.notExecuted
	d.obs.mu.Unlock()
	var m map[string]json.RawMessage
	if !drop || json.Unmarshal(b, &m) != nil || string(m["data"]) != "null" {
		return d.ResponseWriter.Write(b)
	}
	delete(m, "data")
	out, err := json.Marshal(m)
	if err != nil {
		return d.ResponseWriter.Write(b)
	}
	if _, err := d.ResponseWriter.Write(append(out, '\n')); err != nil {
		return 0, err
	}
	return len(b), nil
}

// aroundOperation runs after the document is parsed and validated, so a bad document costs no database
// work. It opens the request's session, checks training, runs the operation, and before the response
// leaves writes the audit of what it disclosed and commits; if that fails, no victim data leaves.
func (s *Server) aroundOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	c := callerFrom(ctx)
	op := graphql.GetOperationContext(ctx)
	if c == nil {
		return refuse(ctx, lindung.Errorf(lindung.EUNAUTHENTICATED, "authentication required"))
	}
	op.DisableIntrospection = !s.mayReadSchema(c)
	if usesIncrementalDelivery(op.Doc) {
		// Deferred fragments resolve after the first response, which is where the audit is written and
		// the transaction ends: they would disclose unaudited, so they are refused outright.
		c.status.setStatus(http.StatusBadRequest)
		return refuse(ctx, lindung.Errorf(lindung.EINVALID, "@defer and @stream are not supported: send the fields in one request"))
	}

	rows := c.decision.Rows
	var fields map[string]bool
	if !s.cfg.ReadAllVictimColumns {
		fields = victimFields(s.schema, op)
	}
	sess := s.cfg.DB.NewSession(postgres.SessionRequest{
		PartnerSlug: c.claims.Partner,
		Username:    c.claims.Subject,
		Scope: lindung.Scope{Rows: rows, Purpose: c.decision.Purpose, Legal: c.decision.Legal,
			WithConsent: c.decision.WithConsent, LimitToReferral: c.decision.LimitToReferral},
		VictimFields: fields,
	})
	id, err := sess.Start(ctx)
	if err == nil {
		if err = s.admit(c.claims, id); err != nil {
			sess.Rollback(ctx)
		}
	}
	if err == nil && !c.trustedDocument && s.trustedFor(id.PartnerType) {
		// The token need not say the partner's type; the hub's record of it decides.
		sess.Rollback(ctx)
		err = untrustedDocument()
	}
	if err == nil && c.decision.RequiresTraining && !id.TrainingCurrent {
		sess.Rollback(ctx)
		err = lindung.Errorf(lindung.EFORBIDDEN, "case access needs a current protection-officer training completion; ask your administrator to record it")
	}
	if err != nil {
		code := lindung.CodeOf(err)
		if code == lindung.EINTERNAL || code == lindung.EUNAVAILABLE {
			s.logError(ctx, err) // the caller's own refusals (unregistered, disabled, untrained) are not faults
		} else if n, ok := entityRepresentations(op.Operation, op.Variables); ok {
			// A gateway's entity fetch by a caller the hub refuses: the shape both gateways show once.
			return graphql.OneShot(entitiesRefused(n, err))
		}
		c.status.setStatus(httpStatus(code))
		return refuse(ctx, err)
	}

	viewer := &lindung.Viewer{UserID: id.UserID, Username: c.claims.Subject, PartnerID: id.PartnerID,
		PartnerSlug: c.claims.Partner, PartnerName: id.PartnerName, PartnerType: id.PartnerType,
		Roles: c.decision.Roles, Purpose: c.decision.Purpose}
	req := resolvers.NewRequest(viewer, c.decision, rows, sess)
	req.RequestID = RequestID(ctx)
	ctx = lindung.WithViewer(ctx, viewer)
	ctx = resolvers.WithRequest(ctx, req)
	responses := next(ctx)

	done := false
	return func(ctx context.Context) *graphql.Response {
		if done {
			return nil
		}
		done = true
		resp := s.finish(ctx, op, req, sess, responses(ctx))
		if status := refusedStatus(resp); status != 0 {
			c.status.setStatus(status)
		}
		return resp
	}
}

// refusedStatus returns the HTTP status of a response refused whole, one with errors and no data (a page
// size out of range, a forged cursor, a failed mutation): the status of its first error's code, so that
// a client sees a 4xx without reading the body. A response with any data is a 200.
func refusedStatus(resp *graphql.Response) int {
	if resp == nil || len(resp.Errors) == 0 || (len(resp.Data) > 0 && string(resp.Data) != "null") {
		return 0
	}
	code, _ := resp.Errors[0].Extensions["code"].(string)
	switch c := lindung.ErrorCode(code); c {
	case lindung.EINVALID, lindung.ENOTFOUND, lindung.EUNAUTHENTICATED, lindung.EFORBIDDEN, lindung.ECONFLICT,
		lindung.EUNAVAILABLE, lindung.EINTERNAL, lindung.ELIMITEXCEEDED, lindung.ERATELIMITED:
		return httpStatus(c)
	}
	return 0
}

// finish audits and commits the operation. A mutation that failed anywhere is rolled back whole, so the
// client is never told of a write that did not happen.
func (s *Server) finish(ctx context.Context, op *graphql.OperationContext, req *resolvers.Request, sess *postgres.Session, resp *graphql.Response) *graphql.Response {
	if resp == nil {
		sess.Rollback(ctx)
		return nil
	}
	if op.Operation != nil && op.Operation.Operation == ast.Mutation && len(resp.Errors) > 0 {
		sess.Rollback(ctx)
		resp.Data = []byte("null")
		return resp
	}
	access := s.access(ctx, op, req)
	if s.cfg.UnauditedBenchmark {
		access = nil
	}
	// The records and the commit travel in one round trip; nothing is answered until both succeeded.
	if err := sess.CommitWithAccess(ctx, access); err != nil {
		sess.Rollback(ctx)
		return s.unavailable(ctx, err)
	}
	if access != nil {
		s.metrics.disclosures.Add(float64(len(access.Victims)))
	}
	if w := req.WithheldList(); w != nil {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["withheld"] = w
	}
	return resp
}

// unavailable replaces a response whose audit could not be written: no victim data leaves unaudited.
func (s *Server) unavailable(ctx context.Context, err error) *graphql.Response {
	s.cfg.Logger.ErrorContext(ctx, "audit write failed; response withheld", "request_id", RequestID(ctx), "err", err)
	s.metrics.auditFailures.Inc()
	if c := callerFrom(ctx); c != nil {
		c.status.setStatus(http.StatusServiceUnavailable)
	}
	return &graphql.Response{Data: []byte("null"), Errors: gqlerror.List{{
		Message:    "the disclosure could not be recorded, so no data was sent; retry shortly",
		Extensions: map[string]any{"code": string(lindung.EUNAVAILABLE), "requestId": RequestID(ctx)},
	}}}
}

// access turns the request's tally into its access records: one per victim disclosed, nil for none.
func (s *Server) access(ctx context.Context, op *graphql.OperationContext, req *resolvers.Request) *lindung.RequestAccess {
	tallies := req.Tallies()
	if len(tallies) == 0 {
		return nil
	}
	a := &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: RequestID(ctx), UserID: req.Viewer.UserID,
		Username: req.Viewer.Username, PartnerID: req.Viewer.PartnerID, Roles: req.Viewer.Roles,
		Purpose: req.Viewer.Purpose, PolicyVersion: callerFrom(ctx).decision.Version, OperationName: op.OperationName},
		Victims: make([]lindung.VictimAccess, 0, len(tallies))}
	for victimID, t := range tallies {
		a.Victims = append(a.Victims, lindung.VictimAccess{VictimID: victimID, Disclosed: t.Disclosed, Withheld: t.Withheld})
	}
	return a
}

// usesIncrementalDelivery reports whether any selection of the document carries @defer or @stream.
func usesIncrementalDelivery(doc *ast.QueryDocument) bool {
	if doc == nil {
		return false
	}
	var walk func(ast.SelectionSet) bool
	marked := func(ds ast.DirectiveList) bool { return ds.ForName("defer") != nil || ds.ForName("stream") != nil }
	walk = func(sel ast.SelectionSet) bool {
		for _, s := range sel {
			switch s := s.(type) {
			case *ast.Field:
				if marked(s.Directives) || walk(s.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if marked(s.Directives) || walk(s.SelectionSet) {
					return true
				}
			case *ast.FragmentSpread:
				if marked(s.Directives) {
					return true
				}
			}
		}
		return false
	}
	for _, o := range doc.Operations {
		if walk(o.SelectionSet) {
			return true
		}
	}
	for _, f := range doc.Fragments {
		if walk(f.SelectionSet) {
			return true
		}
	}
	return false
}

// refuse answers a request refused before execution with its error alone: no data, no partial result.
// An INTERNAL or UNAVAILABLE error carries the request id its log line carries, as everywhere else.
func refuse(ctx context.Context, err error) graphql.ResponseHandler {
	ext := map[string]any{"code": string(lindung.CodeOf(err))}
	if c := lindung.CodeOf(err); c == lindung.EINTERNAL || c == lindung.EUNAVAILABLE {
		ext["requestId"] = RequestID(ctx)
	}
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{Message: lindung.MessageOf(err), Extensions: ext}}})
}

// presentError maps every error once to a stable code and a safe message. Internal details go to the
// log with the request id, never to the client.
func (s *Server) presentError(ctx context.Context, err error) *gqlerror.Error {
	if class, ok := dbErrorClass(err); ok {
		s.metrics.dbErrors.WithLabelValues(class).Inc()
	}
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	var de *lindung.Error
	if errors.As(err, &de) {
		gerr.Message = de.Message
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["code"] = string(de.Code)
		if de.Field != "" {
			gerr.Extensions["field"] = de.Field
		}
		if de.Code == lindung.EINTERNAL || de.Code == lindung.EUNAVAILABLE {
			s.logError(ctx, err)
			gerr.Extensions["requestId"] = RequestID(ctx)
		}
		return gerr
	}
	var ge *gqlerror.Error
	if errors.As(err, &ge) && ge.Extensions != nil && ge.Extensions["code"] != nil {
		// Validation and parse errors carry gqlgen's own codes. Suggestions of field, argument, type and
		// enum value names are cut (gqlgen's SetDisableSuggestion covers only some of the rules): the
		// schema is not advertised to callers who may not introspect it.
		gerr.Message = didYouMean.ReplaceAllString(gerr.Message, "")
		return gerr
	}
	if errors.Is(err, graph.ErrTypeNotFound) || errors.Is(err, graph.ErrUnknownType) {
		// A federation representation without its key or of a type the hub does not know: the router's
		// mistake, not ours. Nothing is resolved for it.
		gerr.Message = "a representation of _entities names no entity of this subgraph, or lacks its key fields"
		gerr.Extensions = map[string]any{"code": string(lindung.EINVALID)}
		return gerr
	}
	if ge != nil && ge.Err == nil {
		// A request gqlgen could not decode, or an argument it could not coerce.
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["code"] = string(lindung.EINVALID)
		if strings.HasPrefix(gerr.Message, "json request body could not be decoded") {
			gerr.Message = badBody
		}
		return gerr
	}
	s.logError(ctx, err)
	gerr.Message = "internal error"
	gerr.Extensions = map[string]any{"code": string(lindung.EINTERNAL), "requestId": RequestID(ctx)}
	return gerr
}

// badBody is the message for a request body that is not one JSON object of a GraphQL request.
const badBody = "the request body must be one JSON object with a query (batches are not accepted)"

// didYouMean matches the suggestions gqlparser appends to validation messages.
var didYouMean = regexp.MustCompile(` Did you mean [^?]*\?`)

func (s *Server) logError(ctx context.Context, err error) {
	s.cfg.Logger.ErrorContext(ctx, "request error", "request_id", RequestID(ctx), "code", lindung.CodeOf(err), "err", err)
}
