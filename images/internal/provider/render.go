package provider

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretdata"
)

// renderError is a problem with what the store returned for an object (a
// missing key, a value that does not decode), not with the store itself.
type renderError struct{ msg string }

func (e *renderError) Error() string { return e.msg }

func renderErrorf(format string, args ...any) error {
	return &renderError{msg: fmt.Sprintf(format, args...)}
}

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
		b, err := secretdata.Value(v)
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
	t, err := secretdata.Parse(name, text, "", "")
	if err != nil {
		return nil, renderErrorf("%v", err)
	}
	out, err := t.Execute(data)
	if err != nil {
		return nil, renderErrorf("%v", err)
	}
	return out, nil
}
