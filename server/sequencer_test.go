package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lindung/lindung"
)

// TestCheckpointOnDemandWaitsOnlyItsDeadline: a request asking for a fresh checkpoint while this
// replica's own run holds the turn (a large backlog at start, or a database that stopped answering) gets
// UNAVAILABLE when its deadline passes, not when that run ends.
func TestCheckpointOnDemandWaitsOnlyItsDeadline(t *testing.T) {
	s := &Sequencer{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))} // no database: no run may start
	s.turnOnce.Do(func() { s.turn = make(chan struct{}, 1) })
	s.turn <- struct{}{} // a run in progress, which does not end during the test

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.PublishCheckpoint(ctx) }()
	select {
	case err := <-done:
		if code := lindung.CodeOf(err); code != lindung.EUNAVAILABLE {
			t.Errorf("PublishCheckpoint behind another run: %v (%s), want UNAVAILABLE", err, code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PublishCheckpoint still waits for the run in progress 10 s after its deadline")
	}
}
