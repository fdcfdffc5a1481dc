package auth

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLoadSecretCreateAndRead(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "conf", "lindung", "jwt-secret")

	if _, err := LoadSecret("", file, false); err == nil || !strings.Contains(err.Error(), "no JWT secret") {
		t.Fatalf("missing file without create: err = %v", err)
	}

	s1, err := LoadSecret("", file, true)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(s1) != 32 {
		t.Errorf("created secret is %d bytes, want 32", len(s1))
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != hex.EncodeToString(s1) {
		t.Errorf("file holds %q, want hex of the secret", got)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
		}
		if fi, _ := os.Stat(filepath.Dir(file)); fi.Mode().Perm() != 0o700 {
			t.Errorf("dir mode = %v, want 0700", fi.Mode().Perm())
		}
	}

	// Reading again, with or without create, returns the same secret and does not rewrite the file.
	for _, create := range []bool{true, false} {
		s2, err := LoadSecret("", file, create)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(s2) != string(s1) {
			t.Errorf("read secret differs from created one")
		}
	}

	// A token issued with the loaded secret verifies with it.
	tok, err := NewIssuer(s1).Issue(Claims{Subject: "a", Partner: "p", Roles: []string{"r"}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s3, _ := LoadSecret("", file, false)
	if _, err := NewHS256Verifier(s3).Verify(t.Context(), tok); err != nil {
		t.Errorf("verify with reloaded secret: %v", err)
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hex32 := strings.Repeat("ab", 32)
	raw40 := "this-is-a-raw-secret-of-forty-bytes-long"
	tests := []struct {
		name    string
		env     string
		file    string
		create  bool
		wantLen int    // 0 means an error is expected
		wantErr string // substring of the error
	}{
		{"env hex", hex32, "", false, 32, ""},
		{"env hex with whitespace", "  " + hex32 + "\n", "", false, 32, ""},
		{"env raw", raw40, "", false, 40, ""},
		{"env wins over file", raw40, write("f1", hex32), false, 40, ""},
		{"env too short", "short-secret", "", false, 0, "at least 32 bytes"},
		{"env short hex", strings.Repeat("ab", 16), "", true, 32, ""}, // 32 hex chars used raw: 32 bytes
		{"file hex", "", write("f2", hex32+"\n"), false, 32, ""},
		{"file raw", "", write("f3", raw40), false, 40, ""},
		{"file too short", "", write("f4", "tiny\n"), true, 0, "at least 32 bytes"},
		{"file empty", "", write("f5", ""), true, 0, "at least 32 bytes"},
		{"no env no file", "", "", true, 0, "no JWT secret"},
		{"missing file no create", "", filepath.Join(dir, "nope"), false, 0, "create the key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSecret(tt.env, tt.file, tt.create)
			if tt.wantLen == 0 {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.env != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.env)) {
					t.Errorf("error echoes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadSecret: %v", err)
			}
			if len(s) != tt.wantLen {
				t.Errorf("len = %d, want %d", len(s), tt.wantLen)
			}
		})
	}
}

func TestDefaultKeyFile(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/tmp/xdg-test")
	if runtime.GOOS == "linux" {
		if got := DefaultKeyFile(); got != "/tmp/xdg-test/lindung/jwt-secret" {
			t.Errorf("DefaultKeyFile = %q", got)
		}
		t.Setenv("XDG_CONFIG_HOME", "")
		t.Setenv("HOME", "")
		if got := DefaultKeyFile(); got != filepath.Join(".lindung", "jwt-secret") {
			t.Errorf("DefaultKeyFile without a config dir = %q", got)
		}
	}
}
