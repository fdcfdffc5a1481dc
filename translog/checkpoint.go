package translog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a commitment to the log's first Size leaves: their RFC 6962 tree root hash, under the
// log's Origin (the name of the signing key).
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// Text is the checkpoint's note body in the transparency-log checkpoint format (C2SP tlog-checkpoint, as
// Go's checksum database writes it): the origin, the size in decimal and the root hash in base64, one to
// a line.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
}

// ParseCheckpoint reads a checkpoint body written by Text; extension lines after the root are ignored,
// as the format allows.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, errors.New("checkpoint: want origin, size and root hash lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("checkpoint: malformed tree size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return Checkpoint{}, fmt.Errorf("checkpoint: malformed root hash %q", lines[2])
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// Sign returns the checkpoint as a signed note.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	if c.Origin != s.Name() {
		return nil, fmt.Errorf("checkpoint origin %q is not the signing key's name %q", c.Origin, s.Name())
	}
	return note.Sign(&note.Note{Text: c.Text()}, s)
}

// Open verifies a signed checkpoint against the log's public key and returns it. The origin must be the
// key's name: a checkpoint of another log signed by the same key is not one of this log's.
func Open(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint of log %q, want %q", c.Origin, v.Name())
	}
	return c, nil
}

// Key is the log's signing key: the private half signs checkpoints; the public half (PublicKey, in the
// note verifier-key format "name+hash+key") is what the hub publishes and verifiers are given.
type Key struct {
	Signer    note.Signer
	PublicKey string
}

// Verifier returns the verifier of the key's public half.
func (k *Key) Verifier() note.Verifier {
	v, err := note.NewVerifier(k.PublicKey)
	if err != nil {
		// PublicKey was derived from a key that note accepted; it always parses.
		panic(err)
	}
	return v
}

// ParseKey reads a private key in the note format ("PRIVATE+KEY+name+hash+key", as note.GenerateKey and
// `lindung audit key` write it) and derives its public half.
func ParseKey(skey string) (*Key, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, errors.New("log signing key: not a note private key (PRIVATE+KEY+name+hash+key)")
	}
	// After "PRIVATE+KEY+name+hash+" (no part of which holds a '+') comes the key data, in base64 (which
	// may): one algorithm byte (1, Ed25519) and the 32-byte seed.
	rest := skey
	for range 4 {
		_, rest, _ = strings.Cut(rest, "+")
	}
	data, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(data) != 1+ed25519.SeedSize || data[0] != 1 {
		return nil, errors.New("log signing key: not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(data[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	return &Key{Signer: s, PublicKey: vkey}, nil
}

// NewKey returns a new Ed25519 log key named origin, and its private half in the note format.
func NewKey(origin string) (*Key, string, error) {
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, "", fmt.Errorf("log signing key named %q: %w (a name has no spaces or '+')", origin, err)
	}
	k, err := ParseKey(skey)
	return k, skey, err
}

// LoadKey returns the log's signing key, as auth.LoadSecret does for the token secret: env (the value of
// LINDUNG_LOG_KEY) wins; otherwise the key is read from file. When the file does not exist and create is
// true, a new key named origin is written to it (mode 0600, in a directory created 0700): `serve --demo`
// works out of the box, and the key stays private to its user. Errors never include the key.
func LoadKey(env, file string, create bool, origin string) (*Key, error) {
	if env != "" {
		return ParseKey(env)
	}
	if file == "" {
		return nil, errors.New("no log signing key: set LINDUNG_LOG_KEY or give a key file")
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createKey(file, origin)
	}
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	return ParseKey(string(b))
}

// createKey writes a new key to file; a file that appeared in the meantime is read instead, so that two
// processes starting together sign with the same key.
func createKey(file, origin string) (*Key, error) {
	k, skey, err := NewKey(origin)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey("", file, false, origin)
	}
	if err != nil {
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	_, err = f.WriteString(skey + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return nil, fmt.Errorf("log signing key: %w", err)
	}
	return k, nil
}

// ReadVerifier reads a public key (verifier key "name+hash+key") from a string, or from a file when s is
// not itself a key.
func ReadVerifier(s string) (note.Verifier, error) {
	vkey := strings.TrimSpace(s)
	if v, err := note.NewVerifier(vkey); err == nil {
		return v, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("log public key: %q is neither a verifier key nor a readable file", s)
	}
	v, err := note.NewVerifier(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("log public key in %s: %w", s, err)
	}
	return v, nil
}
