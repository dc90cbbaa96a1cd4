// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package badstore

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Silent is a store address that accepts connections and never
// answers, as a hung or hostile store would: a tenant may point an import at
// it. It counts the connections it holds and those the client gave up.
type Silent struct {
	ln     net.Listener
	mu     sync.Mutex
	open   int
	closed int
	conns  []net.Conn
	wg     sync.WaitGroup
}

// StartSilent listens on a loopback port.
func StartSilent() (*Silent, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Silent{ln: ln}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// URL is the address to give a client.
func (s *Silent) URL() string { return "https://" + s.ln.Addr().String() }

// Counts returns how many connections are held open and how many the
// clients closed (gave up on).
func (s *Silent) Counts() (open, closed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, s.closed
}

// Close stops listening and drops every connection.
func (s *Silent) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Silent) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.open++
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// Read and drop what the client sends (a TLS hello) until it
			// gives up; answer nothing.
			_, err := io.Copy(io.Discard, c)
			s.mu.Lock()
			s.open--
			if err == nil || !errors.Is(err, net.ErrClosed) {
				s.closed++
			}
			s.mu.Unlock()
		}()
	}
}
