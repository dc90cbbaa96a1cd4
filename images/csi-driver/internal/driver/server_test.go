package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		endpoint string
		want     string // error substring; "" means success
	}{
		{"unix://" + filepath.Join(dir, "a.sock"), ""},
		{filepath.Join(dir, "sub", "b.sock"), ""},
		{"unix://" + stale, ""},
		{"tcp://127.0.0.1:1234", "only unix sockets"},
		{"unix://", "no socket path"},
	}
	for _, c := range cases {
		ln, err := Listen(c.endpoint)
		if c.want == "" {
			if err != nil {
				t.Errorf("Listen(%q): %v", c.endpoint, err)
				continue
			}
			ln.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Listen(%q) error %v, want %q", c.endpoint, err, c.want)
		}
	}
}
