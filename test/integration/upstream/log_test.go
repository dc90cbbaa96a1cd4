package upstream

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// syncBuffer keeps a process's output lines and copies them, prefixed, to out.
type syncBuffer struct {
	out    io.Writer
	prefix string

	mu      sync.Mutex
	lines   []string
	partial []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		line := string(b.partial[:i])
		b.partial = b.partial[i+1:]
		b.lines = append(b.lines, line)
		if b.out != nil {
			_, _ = fmt.Fprintf(b.out, "%s%s\n", b.prefix, line)
		}
	}
	return len(p), nil
}

// tail is the last n lines.
func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
