package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/translog"
)

const auditUsage = `usage: lindung audit <command> [flags]

commands:
  key         print the access log's public key (--create makes the key file if there is none)
  checkpoint  sequence the committed access records now and print the latest signed checkpoint
  verify      recompute the log from the database and check it against its checkpoints and yours
              [--database-url URL] [--public-key KEY|FILE] [--checkpoint FILE]... [--horizon 1m]
`

// DefaultLogOrigin names the log (and its key) when LINDUNG_LOG_ORIGIN is unset; an operator names a
// production log after the hub, e.g. hub.example.gov.my/access-log.
const DefaultLogOrigin = "lindung.local/access-log"

// logKeyFile is where the log's private key is kept when LINDUNG_LOG_KEY is unset: beside the token
// secret, unless LINDUNG_LOG_KEY_FILE says otherwise.
func logKeyFile() string {
	return env("LINDUNG_LOG_KEY_FILE", filepath.Join(filepath.Dir(keyFile()), "log-key"))
}

// loadLogKey returns the log's signing key; create makes the key file when there is none (serve --demo,
// audit key --create).
func loadLogKey(create bool) (*translog.Key, error) {
	k, err := translog.LoadKey(os.Getenv("LINDUNG_LOG_KEY"), logKeyFile(), create, env("LINDUNG_LOG_ORIGIN", DefaultLogOrigin))
	if err != nil {
		return nil, fmt.Errorf("%w (set LINDUNG_LOG_KEY, run `lindung audit key --create` to create %s)", err, logKeyFile())
	}
	return k, nil
}

// errLogNotIntact makes `lindung audit verify` exit non-zero once it has printed what it found.
var errLogNotIntact = errors.New("the access log is NOT intact")

func auditCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(auditUsage)
	}
	switch args[0] {
	case "key":
		fs := flag.NewFlagSet("audit key", flag.ExitOnError)
		create := fs.Bool("create", false, "create the key file (LINDUNG_LOG_KEY_FILE) when there is none, named LINDUNG_LOG_ORIGIN")
		fs.Parse(args[1:])
		k, err := loadLogKey(*create)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, k.PublicKey)
		return nil
	case "checkpoint":
		fs := flag.NewFlagSet("audit checkpoint", flag.ExitOnError)
		horizon := fs.Duration("horizon", envDuration("LINDUNG_SEQUENCE_HORIZON", postgres.DefaultSequenceHorizon), "longest a request transaction stays open (LINDUNG_SEQUENCE_HORIZON)")
		fs.Parse(args[1:])
		k, err := loadLogKey(false)
		if err != nil {
			return err
		}
		db, err := postgres.Open(ctx, databaseURL(), postgres.Options{})
		if err != nil {
			return err
		}
		defer db.Close()
		for {
			res, err := db.Sequence(ctx, k, *horizon, true)
			if err != nil {
				return err
			}
			if res.Locked {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		note, err := db.LatestCheckpointNote(ctx)
		if err != nil {
			return err
		}
		if note == "" {
			return errors.New("the log is empty: no access record was written yet")
		}
		fmt.Fprint(stdout, note)
		return nil
	case "verify":
		return auditVerify(ctx, args[1:], stdout)
	}
	return errors.New(auditUsage)
}

// fileList is a flag that may be given more than once.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(s string) error { *f = append(*f, s); return nil }

// auditVerify is `lindung audit verify`: it reads the log from the database (a live hub's or one restored
// from a pg_dump), verifies every stored and supplied checkpoint's signature, recomputes the tree from
// the access records and reports every leaf that was altered, removed or reordered. It returns
// errLogNotIntact when it found anything, so the command exits non-zero.
func auditVerify(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ExitOnError)
	dbURL := fs.String("database-url", databaseURL(), "the database to verify, e.g. one restored from a pg_dump (DATABASE_URL)")
	pub := fs.String("public-key", os.Getenv("LINDUNG_LOG_PUBLIC_KEY"), "the log's public key, or a file holding it (LINDUNG_LOG_PUBLIC_KEY; default: derived from the hub's log key)")
	horizon := fs.Duration("horizon", envDuration("LINDUNG_SEQUENCE_HORIZON", postgres.DefaultSequenceHorizon), "a record older than this without a leaf is reported (LINDUNG_SEQUENCE_HORIZON)")
	var files fileList
	fs.Var(&files, "checkpoint", "a signed checkpoint kept from the hub (repeatable; files after the flags count too)")
	fs.Parse(args)
	files = append(files, fs.Args()...)

	var v note.Verifier
	var err error
	if *pub != "" {
		v, err = translog.ReadVerifier(*pub)
	} else {
		var k *translog.Key
		if k, err = loadLogKey(false); err == nil {
			v = k.Verifier()
		}
	}
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	snap, err := postgres.ReadLog(ctx, *dbURL)
	if err != nil {
		return err
	}

	var cps []translog.Checkpoint
	var bad []string
	for i, n := range snap.Checkpoints {
		c, err := translog.Open([]byte(n), v)
		if err != nil {
			bad = append(bad, fmt.Sprintf("stored checkpoint %d of %d: %v", i+1, len(snap.Checkpoints), err))
			continue
		}
		cps = appendNew(cps, c)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		c, err := translog.Open(b, v)
		if err != nil {
			bad = append(bad, fmt.Sprintf("checkpoint %s: %v", f, err))
			continue
		}
		cps = appendNew(cps, c)
	}
	rep := translog.Audit(snap.Leaves, snap.Records, cps, snap.Now, *horizon)
	fmt.Fprintf(stdout, "log %s: %d leaves, %d access records (%d awaiting the sequencer), %d distinct checkpoints checked (%d stored, %d supplied)\n",
		v.Name(), rep.Leaves, rep.Records, rep.Pending, len(cps), len(snap.Checkpoints), len(files))
	for _, b := range bad {
		fmt.Fprintf(stdout, "signature  %s\n", b)
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, p)
	}
	if len(bad) > 0 || len(rep.Problems) > 0 {
		return errLogNotIntact
	}
	fmt.Fprintln(stdout, "the access log is intact")
	return nil
}

// appendNew adds c to cps unless the same checkpoint is there already (a partner's copy of a stored one).
func appendNew(cps []translog.Checkpoint, c translog.Checkpoint) []translog.Checkpoint {
	for _, x := range cps {
		if x.Size == c.Size && bytes.Equal(x.Root, c.Root) {
			return cps
		}
	}
	return append(cps, c)
}
