package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/translog"
)

// DefaultCheckpointInterval is how often a replica's sequencer runs when Sequencer.Interval is zero.
const DefaultCheckpointInterval = 10 * time.Second

// Sequencer publishes the access log's checkpoints: every Interval, and on demand (PublishCheckpoint,
// behind auditCheckpoint(fresh: true)). Every replica runs one; an advisory lock in the database makes
// them take turns (postgres.DB.Sequence), so a replica that stops leaves the work to the others.
// Requests never wait for it: their access records carry their leaf hashes and commit on their own.
type Sequencer struct {
	DB  *postgres.DB
	Key *translog.Key
	// Interval is the time between runs (0: DefaultCheckpointInterval); Horizon bounds how long a request
	// transaction may stay open (0: postgres.DefaultSequenceHorizon).
	Interval time.Duration
	Horizon  time.Duration
	Logger   *slog.Logger

	// turn lets one run at a time within the replica; a run waits for it only as long as its context
	// allows, so that a request asking for a fresh checkpoint is never held past its deadline by a run
	// that is slow (a large backlog at start) or stuck (a database that stopped answering).
	turn     chan struct{}
	turnOnce sync.Once
	swept    time.Time // when a run of this replica last read every record (see postgres.DB.Sequence)
}

// fullSweepEvery is how often a replica's run reads every record rather than those above the floor:
// a record whose transaction outlived the horizon (a stalled connection) is logged within the hour, not
// only at the next restart.
const fullSweepEvery = time.Hour

// Run sequences every Interval until ctx ends. A failed run is logged and retried at the next tick: the
// records are safe in the database, only their checkpoint is late.
func (s *Sequencer) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultCheckpointInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.run(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("access log: sequencing failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PublishCheckpoint sequences every access record committed before the call and publishes their
// checkpoint. When another replica holds the lock, its run may have started before the caller's records
// committed, so this waits for the lock and runs itself.
func (s *Sequencer) PublishCheckpoint(ctx context.Context) error {
	for {
		locked, err := s.run(ctx)
		if err != nil {
			s.logger().Error("access log: sequencing on demand failed", "error", err)
			return &lindung.Error{Code: lindung.EUNAVAILABLE, Err: err, Message: "the access log could not publish a checkpoint now; retry shortly"}
		}
		if locked {
			return nil
		}
		select {
		case <-ctx.Done():
			return &lindung.Error{Code: lindung.EUNAVAILABLE, Err: ctx.Err(), Message: "the access log is busy; retry shortly"}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// run is one sequencer run; it reports whether it held the lock.
func (s *Sequencer) run(ctx context.Context) (bool, error) {
	s.turnOnce.Do(func() { s.turn = make(chan struct{}, 1) })
	select {
	case s.turn <- struct{}{}:
		defer func() { <-s.turn }()
	case <-ctx.Done():
		return false, ctx.Err()
	}
	horizon := s.Horizon
	if horizon <= 0 {
		horizon = postgres.DefaultSequenceHorizon
	}
	start := time.Now()
	full := start.Sub(s.swept) > fullSweepEvery
	res, err := s.DB.Sequence(ctx, s.Key, horizon, full)
	if err != nil {
		return false, err
	}
	if res.Locked && full {
		s.swept = start
	}
	for _, id := range res.Changed {
		s.logger().Error("access log: a record changed between its insert and its sequencing; lindung audit verify reports it", "record_id", id)
	}
	if res.Checkpoint != nil {
		s.logger().Info("access log: checkpoint published", "tree_size", res.Checkpoint.TreeSize, "sequenced", res.Sequenced)
	}
	return res.Locked, nil
}

func (s *Sequencer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
