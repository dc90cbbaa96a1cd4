package provider

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

// renderError is a problem with what the store returned for an object (a
// missing key, a value that does not decode), not with the store itself.
type renderError struct{ msg string }

func (e *renderError) Error() string { return e.msg }

func renderErrorf(format string, args ...any) error {
	return &renderError{msg: fmt.Sprintf(format, args...)}
}

// funcMap is Sprig without the functions that read the provider's own
// environment: a template is user input and must only see the secret.
var funcMap = func() template.FuncMap {
	m := sprig.TxtFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	return m
}()

// render turns the data of the secret at path into the file content of o:
// a template's output, one key's value, or the whole data as JSON; then
// decodes it as o.Encoding says. Errors never quote values.
func render(o params.Object, path string, data map[string]any) ([]byte, error) {
	var raw []byte
	switch {
	case o.Template != "":
		out, err := execTemplate(o.Ref, o.Template, data)
		if err != nil {
			return nil, err
		}
		raw = out
	case o.SecretKey != "":
		v, ok := data[o.SecretKey]
		if !ok {
			return nil, renderErrorf("key %q not found at %s", o.SecretKey, path)
		}
		b, err := valueBytes(v)
		if err != nil {
			return nil, renderErrorf("key %q at %s: %v", o.SecretKey, path, err)
		}
		raw = b
	default:
		if o.Encoding != params.EncodingNone && o.Encoding != params.EncodingUTF8 {
			return nil, renderErrorf("encoding %q needs secretKey or template: the whole secret is JSON", o.Encoding)
		}
		b, err := json.Marshal(data)
		if err != nil {
			return nil, renderErrorf("encode the secret at %s as JSON: %v", path, err)
		}
		return b, nil
	}
	return decode(o.Encoding, raw, path)
}

// valueBytes is the file content of one value: strings as they are, other
// JSON values (numbers, booleans, objects) in their JSON form.
func valueBytes(v any) ([]byte, error) {
	switch t := v.(type) {
	case string:
		return []byte(t), nil
	case json.Number:
		return []byte(t.String()), nil
	case nil:
		return []byte{}, nil
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("not representable as JSON")
		}
		return b, nil
	}
}

func decode(encoding string, raw []byte, path string) ([]byte, error) {
	switch encoding {
	case params.EncodingNone, params.EncodingUTF8:
		return raw, nil
	case params.EncodingBase64:
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
			return nil, renderErrorf("value at %s is not valid base64", path)
		}
		return out, nil
	case params.EncodingHex:
		out, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil {
			return nil, renderErrorf("value at %s is not valid hex", path)
		}
		return out, nil
	default:
		return nil, renderErrorf("unknown encoding %q", encoding)
	}
}

func execTemplate(name, text string, data map[string]any) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcMap).Parse(text)
	if err != nil {
		// Parse errors quote the template, which is not secret.
		return nil, renderErrorf("template: %v", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, renderErrorf("%s", scrubExecError(err))
	}
	return buf.Bytes(), nil
}

// scrubExecError keeps where a template failed but drops what a function
// said about its arguments: that may be a secret value (e.g. atoi's
// `parsing "s3cr3t"`).
func scrubExecError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "error calling "); i >= 0 {
		rest := msg[i+len("error calling "):]
		if j := strings.Index(rest, ":"); j >= 0 {
			return msg[:i] + "error calling " + rest[:j]
		}
	}
	return msg
}
