package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadSecret returns the HS256 secret the hub signs and verifies its own tokens with, so that the serve and
// token-issuing commands agree on it without the operator having to manage a key by hand.
//
// env is the value of the secret's environment variable (not its name). When it is non-empty it wins; it
// may be raw or hex-encoded and must yield at least MinSecretLen bytes. Otherwise the secret is read from
// keyFile (hex or raw, surrounding whitespace trimmed, same minimum). When keyFile does not exist and create
// is true, it is created holding 32 random bytes hex-encoded, with mode 0600 in a directory created 0700, so
// a development hub works out of the box while the secret stays private to its user.
//
// Errors are plain errors for the operator at startup; they never include the secret.
func LoadSecret(env string, keyFile string, create bool) ([]byte, error) {
	if env != "" {
		s := decodeSecret([]byte(env))
		if len(s) < MinSecretLen {
			return nil, fmt.Errorf("JWT secret from the environment is %d bytes; it must be at least %d bytes (e.g. the output of `openssl rand -hex 32`)", len(s), MinSecretLen)
		}
		return s, nil
	}
	if keyFile == "" {
		return nil, errors.New("no JWT secret: set the secret in the environment or give a key file")
	}
	b, err := os.ReadFile(keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("no JWT secret: set the secret in the environment or create the key file %s", keyFile)
		}
		return createSecret(keyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read JWT key file %s: %w", keyFile, err)
	}
	s := decodeSecret(b)
	if len(s) < MinSecretLen {
		return nil, fmt.Errorf("JWT key file %s holds a %d-byte secret; it must be at least %d bytes", keyFile, len(s), MinSecretLen)
	}
	return s, nil
}

// decodeSecret trims b and hex-decodes it when it is entirely hex and long enough once decoded; otherwise it
// is used as raw bytes.
func decodeSecret(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b)%2 == 0 {
		if d, err := hex.DecodeString(string(b)); err == nil && len(d) >= MinSecretLen {
			return d
		}
	}
	return append([]byte(nil), b...)
}

// createSecret writes a new random secret to keyFile. It refuses to overwrite a file that appeared in the
// meantime and reads that one instead, so two processes starting together end up with the same secret.
func createSecret(keyFile string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return nil, fmt.Errorf("create directory for JWT key file %s: %w", keyFile, err)
	}
	secret := make([]byte, MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generate JWT secret: %w", err)
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadSecret("", keyFile, false)
	}
	if err != nil {
		return nil, fmt.Errorf("create JWT key file %s: %w", keyFile, err)
	}
	if _, err := f.WriteString(hex.EncodeToString(secret) + "\n"); err != nil {
		f.Close()
		os.Remove(keyFile)
		return nil, fmt.Errorf("write JWT key file %s: %w", keyFile, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(keyFile)
		return nil, fmt.Errorf("write JWT key file %s: %w", keyFile, err)
	}
	return secret, nil
}

// DefaultKeyFile is where the hub keeps its generated JWT secret when none is configured: lindung/jwt-secret
// under the user's configuration directory, or .lindung/jwt-secret in the working directory when the system
// has no such directory (e.g. HOME unset in a container).
func DefaultKeyFile() string {
	dir, err := os.UserConfigDir()
	if err != nil || dir == "" {
		return filepath.Join(".lindung", "jwt-secret")
	}
	return filepath.Join(dir, "lindung", "jwt-secret")
}
