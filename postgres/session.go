package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lindung/lindung"
)

// SessionRequest is what a request's session is opened with: who the token says the caller is, and the
// scope the policy gave them.
type SessionRequest struct {
	PartnerSlug string
	Username    string
	Scope       lindung.Scope // Rows and Purpose; the partner's id and type are filled in by Start
	// VictimFields, when not nil, names every field of Victim the request can resolve, anywhere in its
	// operation: the session then reads, of every victim, only the guarded columns those fields serve
	// (see unreadColumns). Nil, as for every caller but a GraphQL query, reads every column.
	VictimFields map[string]bool
}

// Identity is what the database knows of the caller, read when the session starts.
type Identity struct {
	PartnerID        string
	PartnerName      string
	PartnerType      lindung.PartnerType
	UserID           string   // "" when the token's user is not registered in the hub
	UserRoles        []string // the roles the hub registered for the user; nil for an unregistered user
	UserDisabled     bool     // the operator disabled the user: no request of theirs is served
	PartnerSuspended bool     // the operator suspended the partner: no request of its users is served
	TrainingCurrent  bool     // the user holds a current protection-officer training completion
}

// Session is one request's transaction. It runs as the hub's runtime login, which owns nothing and holds
// its grants through lindung_app (there is no role to switch to or back from), with the request's scope in
// transaction-local settings that row-level security reads. Its methods may be called from several
// goroutines (the dataloaders of one request); they take turns on the one connection.
type Session struct {
	db    *DB
	req   SessionRequest
	scope lindung.Scope
	// unread is the mask of the guarded victim columns this session reads as NULL, fixed for its life so
	// that every victim it reads, and primes the request's loader with, has the same columns.
	unread uint32
	// reviewing is set once the transaction reads as an emergency reviewer (asReviewer), for visibleGrants.
	reviewing bool

	mu sync.Mutex
	tx *requestTx
}

// NewSession returns a session that has not touched the database yet; Start begins it.
func (db *DB) NewSession(req SessionRequest) *Session {
	return &Session{db: db, req: req, scope: req.Scope, unread: unreadColumns(req.VictimFields)}
}

// callerSQL names the caller for the start statement: row security shows a request its own user, and
// before startSQL has read it only the token's subject says who that is (migration 022).
const callerSQL = `SELECT set_config('lindung.username', $1, true)`

// startSQL resolves the caller and sets the transaction's scope, and how long it may sit idle
// (idleTimeout).
const startSQL = `
SELECT p.id::text, p.name, p.type::text, coalesce(u.id::text, ''), u.roles,
       u.disabled_at IS NOT NULL, p.suspended_at IS NOT NULL,
       EXISTS (SELECT 1 FROM training_completions t
               WHERE t.user_id = u.id AND (t.expires_on IS NULL OR t.expires_on > current_date)),
       set_config('lindung.partner_id', p.id::text, true),
       set_config('lindung.partner_type', p.type::text, true),
       set_config('lindung.user_id', coalesce(u.id::text, ''), true),
       set_config('lindung.scope', @scope, true),
       set_config('lindung.purpose', @purpose, true),
       set_config('idle_in_transaction_session_timeout',
                  coalesce(@idle_timeout, current_setting('idle_in_transaction_session_timeout')), true)
FROM partners p LEFT JOIN users u ON u.partner_id = p.id AND u.username = @username
WHERE p.slug = @slug`

// Start begins the transaction and resolves the caller, in one round trip. A partner the hub does not
// know is UNAUTHENTICATED: the token may be valid, but it names no one the hub shares data with.
func (s *Session) Start(ctx context.Context) (*Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx != nil {
		return nil, lindung.Internal(nil, "session started twice")
	}
	var id Identity
	var partnerType string
	var ignore [6]string
	b := &pgx.Batch{}
	b.Queue(callerSQL, s.req.Username)
	b.Queue(startSQL, pgx.NamedArgs{
		"slug": s.req.PartnerSlug, "username": s.req.Username,
		"scope": string(s.req.Scope.Rows), "purpose": string(s.req.Scope.Purpose),
		"idle_timeout": idleTimeout(ctx),
	})
	tx, err := s.db.beginRequest(ctx, b, func(row pgx.Row) error {
		return row.Scan(&id.PartnerID, &id.PartnerName, &partnerType, &id.UserID, &id.UserRoles,
			&id.UserDisabled, &id.PartnerSuspended, &id.TrainingCurrent,
			&ignore[0], &ignore[1], &ignore[2], &ignore[3], &ignore[4], &ignore[5])
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lindung.Errorf(lindung.EUNAUTHENTICATED, "the token's partner %q is not registered with this hub", s.req.PartnerSlug)
	}
	if err != nil {
		return nil, mapError(err, "start request transaction")
	}
	id.PartnerType = lindung.PartnerType(partnerType)
	s.tx = tx
	s.scope.PartnerID = id.PartnerID
	s.scope.PartnerType = id.PartnerType
	s.scope.UserID = id.UserID
	return &id, nil
}

// idleTimeout is how long PostgreSQL lets a request's transaction sit idle between statements before it
// ends the session: the time the request has left (ctx's deadline), and then as long as its ROLLBACK may
// take. A live request never idles that long: its context ends first, and the hub rolls back. A
// transaction the hub abandoned, because its host died or the network between them failed, would
// otherwise hold its locks until the server's TCP keepalive noticed, two hours by default, and a
// migration's ALTER waiting behind it would stop every request queued behind that. Without a deadline
// the server's setting stands (nil).
func idleTimeout(ctx context.Context) *string {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	ms := strconv.FormatInt(max(time.Until(deadline)+rollbackTimeout, time.Millisecond).Milliseconds(), 10)
	return &ms
}

// begin starts a transaction, waiting at most the pool's acquire timeout for a connection. The timeout
// bounds only the wait and the BEGIN: the transaction then runs under ctx alone.
func (db *DB) begin(ctx context.Context) (pgx.Tx, error) {
	bctx, cancel := context.WithTimeout(ctx, db.acquireWait())
	defer cancel()
	tx, err := db.Pool.Begin(bctx)
	if err != nil {
		return nil, db.beginError(ctx, bctx, err)
	}
	return tx, nil
}

// acquire takes a connection from the pool, waiting at most the pool's acquire timeout.
func (db *DB) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	bctx, cancel := context.WithTimeout(ctx, db.acquireWait())
	defer cancel()
	conn, err := db.Pool.Acquire(bctx)
	if err != nil {
		return nil, db.beginError(ctx, bctx, err)
	}
	return conn, nil
}

// acquireWait is the longest a transaction waits for a connection (and, through db.begin, its BEGIN).
func (db *DB) acquireWait() time.Duration {
	if db.acquireTimeout <= 0 {
		return DefaultAcquireTimeout
	}
	return db.acquireTimeout
}

// beginError maps a failure to begin a transaction: UNAVAILABLE, saying the hub is busy, when the wait
// bounded by bctx ran out while the request itself (ctx) had time left.
func (db *DB) beginError(ctx, bctx context.Context, err error) error {
	if ctx.Err() == nil && bctx.Err() != nil {
		return &lindung.Error{Code: lindung.EUNAVAILABLE, Err: err,
			Message: fmt.Sprintf("the hub is busy: no database connection was free within %s; retry shortly", db.acquireWait())}
	}
	return mapError(err, "begin request transaction")
}

// Commit commits the request's transaction; it is a no-op for a session never started.
func (s *Session) Commit(ctx context.Context) error { return s.CommitWithAccess(ctx, nil) }

// CommitWithAccess writes the request's access records (accessInsert) and commits, in one round trip: the
// records commit with the request or not at all. With no records it only commits. It is the one way the
// hub writes access records.
func (s *Session) CommitWithAccess(ctx context.Context, a *lindung.RequestAccess) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		if a != nil && len(a.Victims) > 0 {
			return lindung.Errorf(lindung.EUNAVAILABLE, "request transaction not open")
		}
		return nil
	}
	b := &pgx.Batch{}
	if a != nil && len(a.Victims) > 0 {
		sql, args := accessInsert(a)
		b.Queue(sql, args...)
	}
	err := s.tx.commit(ctx, b)
	s.tx = nil
	return mapError(err, "commit")
}

// Rollback abandons the request's transaction; it is safe to call after Commit.
func (s *Session) Rollback(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx != nil {
		s.tx.rollback(ctx)
		s.tx = nil
	}
}

// query runs fn with the transaction, one caller at a time.
func (s *Session) query(ctx context.Context, fn func(tx querier) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return lindung.Errorf(lindung.EUNAVAILABLE, "request transaction not open")
	}
	return fn(s.tx)
}

// args returns the named arguments every scoped statement takes (the viewer: partner, partner type and
// purpose), plus extra.
func (s *Session) args(extra pgx.NamedArgs) pgx.NamedArgs {
	a := pgx.NamedArgs{"partner": s.scope.PartnerID, "partner_type": string(s.scope.PartnerType),
		"purpose": string(s.scope.Purpose)}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

// visibleVictims is the first wall: the row scope written into SQL, as a condition on victims v. The
// second wall, row-level security, holds the same rule in the database. Under EMERGENCY it is cut to the
// victims with a grant in effect for the caller (emergency.go).
func (s *Session) visibleVictims() string { return s.emergencyVisible(s.rowScope()) }

// rowScope is the role's row scope as a condition on victims v: a comparison with a column of the row,
// as the victims read policy has it. linked_partners and referred_partners (migration 017) are the
// partners of the victim's case links and of its accepted referrals, kept by triggers in the transaction
// of every change to them.
func (s *Session) rowScope() string {
	switch s.scope.Rows {
	case lindung.ScopePartner:
		return `v.owner_partner_id = @partner::uuid`
	case lindung.ScopeLinked:
		return `@partner::uuid = ANY (v.linked_partners)`
	case lindung.ScopeReferred:
		return `@partner::uuid = ANY (v.referred_partners)`
	}
	return `false`
}

// requireVisible is ErrNotFound unless the victim is in the request's row scope: a report about a victim
// out of scope does not exist, exactly as the victim does not.
func (s *Session) requireVisible(ctx context.Context, tx querier, victimID string) error {
	var visible bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM victims v WHERE v.id = @id::uuid AND `+s.visibleVictims()+`)`,
		s.args(pgx.NamedArgs{"id": victimID})).Scan(&visible); err != nil {
		return err
	}
	if !visible {
		return lindung.ErrNotFound
	}
	return nil
}

var _ lindung.Session = (*Session)(nil)
