// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package render turns the data of a secret read from the store into the
// content of one file or Secret key, as a SecretsStoreImport file says: a
// template's output, one key's value, or the whole data as JSON, then
// decoded. The Vault provider writes it into volumes and the controller into
// Kubernetes Secrets, so both deliver the same bytes. Errors never quote a
// value.
package render

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/deckhouse/secrets-store-integration/images/internal/secretdata"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
)

// Error is a problem with what the store returned for an object (a missing
// key, a value that does not decode), not with the store itself.
type Error struct {
	msg string
	// keyMissing: the secret lacks a key the object (or its template) uses.
	keyMissing bool
}

func (e *Error) Error() string { return e.msg }

// IsKeyMissing reports whether err is the secret lacking a key that the
// object names or its template uses.
func IsKeyMissing(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.keyMissing
}

func errorf(format string, args ...any) error {
	return &Error{msg: fmt.Sprintf(format, args...)}
}

// Budget bounds the content of one volume or Secret: PerFile bytes for each
// file or key and Total for all of them. A Budget is used by one goroutine.
type Budget struct {
	PerFile, Total int64
	used           int64
}

// Limits of what one volume of the CSI provider, one Secret of the
// controller and one variable of the env injector may hold.
const (
	// VolumeFileBytes and VolumeBytes: the driver receives a volume in
	// one gRPC message, 4 MiB by default.
	VolumeFileBytes = 2 << 20
	VolumeBytes     = 4 << 20
	// SecretBytes: the API server refuses a Secret over 1 MiB.
	SecretBytes = 1 << 20
)

// NewBudget returns a budget of perFile bytes per file and total in all.
func NewBudget(perFile, total int64) *Budget { return &Budget{PerFile: perFile, Total: total} }

// room is what the next file may take.
func (b *Budget) room() int64 { return max(min(b.PerFile, b.Total-b.used), 0) }

func (b *Budget) take(n int) error {
	switch {
	case int64(n) > b.PerFile:
		return errorf("content of %d bytes exceeds the limit of %d bytes per file", n, b.PerFile)
	case b.used+int64(n) > b.Total:
		return errorf("content exceeds the limit of %d bytes for all files together", b.Total)
	}
	b.used += int64(n)
	return nil
}

// Content turns the data of the secret at path into the content of o: a
// template's output, one key's value, or the whole data as JSON; then decodes
// it as o.Encoding says, within b. Errors never quote values.
func Content(ctx context.Context, o secretmodel.Object, path string, data map[string]any, b *Budget) ([]byte, error) {
	out, err := content(ctx, o, path, data, b)
	if err != nil {
		return nil, err
	}
	if err := b.take(len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

func content(ctx context.Context, o secretmodel.Object, path string, data map[string]any, b *Budget) ([]byte, error) {
	var raw []byte
	switch {
	case o.Template != "":
		if b.room() == 0 {
			return nil, errorf("content exceeds the limit of %d bytes for all files together", b.Total)
		}
		out, err := execTemplate(ctx, o.Ref, o.Template, data, b.room())
		if err != nil {
			return nil, err
		}
		raw = out
	case o.SecretKey != "":
		v, ok := data[o.SecretKey]
		if !ok {
			return nil, &Error{msg: fmt.Sprintf("key %q not found at %s", o.SecretKey, path), keyMissing: true}
		}
		b, err := secretdata.Value(v)
		if err != nil {
			return nil, errorf("key %q at %s: %v", o.SecretKey, path, err)
		}
		raw = b
	default:
		return wholeJSON(o, path, data)
	}
	return decode(o.Encoding, raw, path)
}

// WholeResponse is the content vault-csi-provider gives an object without
// secretKey: the store's whole answer at path (request_id, lease_id,
// lease_duration, renewable, data, warnings, ...) as JSON, within b.
func WholeResponse(o secretmodel.Object, path string, response any, b *Budget) ([]byte, error) {
	out, err := wholeJSON(o, path, response)
	if err != nil {
		return nil, err
	}
	if err := b.take(len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// wholeJSON encodes v, a whole secret or answer, as the file's JSON: there
// is no single value an encoding could decode.
func wholeJSON(o secretmodel.Object, path string, v any) ([]byte, error) {
	if o.Encoding != secretmodel.EncodingNone && o.Encoding != secretmodel.EncodingUTF8 {
		return nil, errorf("encoding %q needs secretKey or template: the whole secret is JSON", o.Encoding)
	}
	b, err := json.Marshal(v)
	if err != nil {
		// The encoder's message may quote a value: say only where.
		return nil, errorf("encode the secret at %s as JSON", path)
	}
	return b, nil
}

func decode(encoding string, raw []byte, path string) ([]byte, error) {
	switch encoding {
	case secretmodel.EncodingNone, secretmodel.EncodingUTF8:
		return raw, nil
	case secretmodel.EncodingBase64:
		s := strings.TrimSpace(string(raw))
		out, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			// URL-safe and unpadded variants are common in the wild.
			if out2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
				return out2, nil
			}
			if out2, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err2 == nil {
				return out2, nil
			}
			// The decoder's message quotes input bytes: keep it out.
			return nil, errorf("value at %s is not valid base64", path)
		}
		return out, nil
	case secretmodel.EncodingHex:
		out, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil {
			return nil, errorf("value at %s is not valid hex", path)
		}
		return out, nil
	default:
		return nil, errorf("unknown encoding %q", encoding)
	}
}

func execTemplate(ctx context.Context, name, text string, data map[string]any, maxBytes int64) ([]byte, error) {
	t, err := secretdata.Parse(name, text, "", "")
	if err != nil {
		return nil, errorf("%v", err)
	}
	out, err := t.Execute(ctx, data, maxBytes)
	if err != nil {
		// text/template's wording with missingkey=error; the message names
		// the key, never a value.
		return nil, &Error{msg: err.Error(), keyMissing: strings.Contains(err.Error(), "map has no entry for key")}
	}
	return out, nil
}
