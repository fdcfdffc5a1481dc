package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lindung/lindung/telemetry"
)

// buildVersion is what `lindung --version` and /readyz report: the version Go recorded for the module,
// as the lindung_build_info metric and the spans report it, with the VCS revision when Go recorded one.
func buildVersion() string {
	v, rev := telemetry.Build()
	if rev != "unknown" {
		return v + " " + rev
	}
	return v
}

// keyDescription says which key serve verifies tokens with, for its start-up banner.
var keyDescription = "verified with the identity provider's keys (--jwks-url)"

// describeKey names an HS256 key by a short fingerprint, so that `token` and `serve` can be seen to use
// the same key without either printing it: a token from another key is refused with "signature is not
// valid", and comparing the two fingerprints says why.
func describeKey(secret []byte) string {
	sum := sha256.Sum256(secret)
	return "the HS256 key with fingerprint " + hex.EncodeToString(sum[:4])
}

// waitForDatabase runs connect until it succeeds, retrying for at most wait while the database cannot
// be reached (it is starting, or the network is not up yet), logging each failure. An error that waiting
// cannot fix (a wrong password, a database that does not exist) is returned at once. Every error names
// the environment variable and the database it tried, without the password.
func waitForDatabase(ctx context.Context, logger *slog.Logger, wait time.Duration, variable, url string, connect func() error) error {
	start := time.Now()
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := connect()
		if err == nil {
			if attempt > 1 {
				logger.Info("database reachable", "variable", variable, "attempts", attempt)
			}
			return nil
		}
		err = describeDatabaseError(variable, url, err)
		if !retryable(err) || time.Since(start)+delay > wait {
			if retryable(err) && wait > 0 {
				return fmt.Errorf("%w (gave up after %s of retrying; --db-wait, LINDUNG_DB_WAIT)", err, time.Since(start).Round(time.Second))
			}
			return err
		}
		logger.Warn("database not reachable; retrying", "variable", variable, "attempt", attempt, "retry_in", delay.String(), "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// retryable reports whether a failure to reach the database may pass by itself.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "57P03" || pgErr.Code == "53300" // starting up, too many connections
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr)
}

// describeDatabaseError names the variable and the database, host and login of url in err.
func describeDatabaseError(variable, url string, err error) error {
	cfg, perr := pgconn.ParseConfig(url)
	if perr != nil {
		return fmt.Errorf("%s is not a PostgreSQL URL such as postgres://lindung_runtime@db.example:5432/lindung: %w", variable, perr)
	}
	return fmt.Errorf("%s: database %q on %s:%d as %q: %w", variable, cfg.Database, cfg.Host, cfg.Port, cfg.User, err)
}
