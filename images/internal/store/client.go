// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"
)

// The store speaks a small JSON-over-HTTP API; the few calls made here
// (login, read, write, renew, revoke, a mount lookup) need no more than
// net/http. Vault's client library would add about 2 MB to the env
// injector, which every mutated pod copies at start.

// Answer is the store's JSON answer, with Vault's field names, so that a
// whole answer written to a file reads as Vault wrote it.
type Answer struct {
	RequestID     string         `json:"request_id"`
	LeaseID       string         `json:"lease_id"`
	LeaseDuration int            `json:"lease_duration"`
	Renewable     bool           `json:"renewable"`
	Data          map[string]any `json:"data"`
	Warnings      []string       `json:"warnings"`
	Auth          *AnswerAuth    `json:"auth,omitempty"`
	WrapInfo      *WrapInfo      `json:"wrap_info,omitempty"`
	MountType     string         `json:"mount_type,omitempty"`
}

// AnswerAuth is the token part of a login or token answer.
type AnswerAuth struct {
	ClientToken      string            `json:"client_token"`
	Accessor         string            `json:"accessor"`
	Policies         []string          `json:"policies"`
	TokenPolicies    []string          `json:"token_policies"`
	IdentityPolicies []string          `json:"identity_policies"`
	Metadata         map[string]string `json:"metadata"`
	Orphan           bool              `json:"orphan"`
	EntityID         string            `json:"entity_id"`
	LeaseDuration    int               `json:"lease_duration"`
	Renewable        bool              `json:"renewable"`
	MFARequirement   any               `json:"mfa_requirement"`
}

// WrapInfo is set when the store wrapped the answer in a token.
type WrapInfo struct {
	Token           string    `json:"token"`
	Accessor        string    `json:"accessor"`
	TTL             int       `json:"ttl"`
	CreationTime    time.Time `json:"creation_time"`
	CreationPath    string    `json:"creation_path"`
	WrappedAccessor string    `json:"wrapped_accessor"`
}

// ResponseError is an answer of the store with an error status.
type ResponseError struct {
	StatusCode int
	// Errors are the store's "errors", or the body when it was not
	// JSON.
	Errors []string
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, strings.Join(e.Errors, "; "))
}

// httpClient is the connection pool of one store address and TLS settings,
// shared by every session that reaches the store that way; a request
// carries its session's token and namespace.
type httpClient struct {
	base *url.URL
	hc   *http.Client
}

func newHTTPClient(address string, t TLS, timeout time.Duration, maxAnswer int64) (*httpClient, error) {
	base, err := url.Parse(strings.TrimRight(address, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("store address %q is not an http(s) URL", address)
	}
	tc, err := t.config()
	if err != nil {
		return nil, fmt.Errorf("store %s: configure TLS: %w", address, err)
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   runtime.GOMAXPROCS(0) + 1,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	hc := &http.Client{
		Timeout: timeout,
		// The client reads a whole answer into memory: a store (or
		// whatever listens at an address a tenant wrote) must not make it
		// read gigabytes.
		Transport: &limitTransport{base: tr, limit: maxAnswer},
		// A standby sends the request on to the active node, once; never
		// from https to http, which would send the token in the clear.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 1 {
				return errors.New("the store redirected more than once")
			}
			if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return errors.New("the store redirected from https to http")
			}
			return nil
		},
	}
	return &httpClient{base: base, hc: hc}, nil
}

// closeIdle lets idle connections go (the client was evicted); requests
// under way finish.
func (c *httpClient) closeIdle() { c.hc.CloseIdleConnections() }

// call sends one request to /v1/path. A status of 400 or more is a
// *ResponseError, but a 404 with data or warnings is also an answer (a
// deleted KV v2 version, a KV v2 path read outside data/), returned with
// the error. An answer without a body (204) is an empty Answer.
func (c *httpClient) call(ctx context.Context, method, path, token, namespace string, query url.Values, body any) (*Answer, error) {
	u := *c.base
	u.Path += "/v1/" + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Request", "true")
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	if namespace != "" {
		req.Header.Set("X-Vault-Namespace", namespace)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		rerr := &ResponseError{StatusCode: resp.StatusCode}
		var eb struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal(raw, &eb) == nil {
			rerr.Errors = eb.Errors
		} else if len(raw) > 0 {
			rerr.Errors = []string{string(raw)}
		}
		if resp.StatusCode == http.StatusNotFound {
			if a, derr := decodeAnswer(raw); derr == nil && (len(a.Data) > 0 || len(a.Warnings) > 0) {
				return a, rerr
			}
		}
		return nil, rerr
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return &Answer{}, nil
	}
	a, err := decodeAnswer(raw)
	if err != nil {
		return nil, fmt.Errorf("decode the answer: %w", err)
	}
	return a, nil
}

// decodeAnswer keeps numbers as json.Number: a value is written as the
// store holds it, not as a float.
func decodeAnswer(raw []byte) (*Answer, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var a Answer
	if err := d.Decode(&a); err != nil {
		return nil, err
	}
	return &a, nil
}
