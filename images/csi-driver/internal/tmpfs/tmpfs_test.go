package tmpfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUnescape(t *testing.T) {
	cases := map[string]string{`/a\040b`: "/a b", "/plain": "/plain", `/x\134y`: `/x\y`, `/end\04`: `/end\04`}
	for in, want := range cases {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountCycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs needs root")
	}
	dir := filepath.Join(t.TempDir(), "with space")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if m, err := IsMounted(dir); err != nil || m {
		t.Fatalf("IsMounted before = %v, %v", m, err)
	}
	if err := Mount(dir, 1234); err != nil {
		t.Skipf("tmpfs mounts not permitted here: %v", err)
	}
	t.Cleanup(func() { _ = Unmount(dir) })
	if m, err := IsMounted(dir); err != nil || !m {
		t.Fatalf("IsMounted after mount = %v, %v", m, err)
	}
	if err := Unmount(dir); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(dir); err != nil {
		t.Errorf("second unmount: %v", err)
	}
	if m, _ := IsMounted(dir); m {
		t.Error("still mounted")
	}
	if m, err := IsMounted(filepath.Join(dir, "missing")); err != nil || m {
		t.Errorf("missing path: %v, %v", m, err)
	}
}
