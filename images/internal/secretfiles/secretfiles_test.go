package secretfiles

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// fakeStore answers a KV v2 secret at secret/data/app and a PKI issue at
// pki/issue/web, and counts the requests by method and path. Role "refused"
// may not log in.
type fakeStore struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls[r.Method+" "+r.URL.Path]++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v1/auth/kubernetes/login":
		var body struct{ Role string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Role == "refused" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":["permission denied"]}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{"client_token": "hvs.x", "lease_duration": 600}})
	case "/v1/sys/internal/ui/mounts/secret/data/app":
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"path": "secret/", "type": "kv", "options": map[string]any{"version": "2"}}})
	case "/v1/secret/data/app":
		json.NewEncoder(w).Encode(map[string]any{"request_id": "req-1",
			"data": map[string]any{"data": map[string]any{"user": "alice", "password": "s3cr3t"}, "metadata": map[string]any{"version": 2}}})
	case "/v1/pki/issue/web":
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"certificate": "CERT", "private_key": "KEY"}})
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errors":[]}`)
	}
}

func (f *fakeStore) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func jwt() string {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"system:serviceaccount:demo:app"}`))
	return "e30." + claims + ".c2ln"
}

func request(addr, role string, objects ...secretmodel.Object) Request {
	for i := range objects {
		if objects[i].Method == "" {
			objects[i].Method = http.MethodGet
		}
		if objects[i].Ref == "" {
			objects[i].Ref = "files[" + string(rune('0'+i)) + "]"
		}
	}
	return Request{
		Params: secretmodel.Parameters{Source: "SecretsStoreImport demo/app", Role: role, AuthType: params.AuthKubernetes,
			PodNamespace: "demo", ServiceAccount: "app", Objects: objects},
		Defaults:  params.Defaults{Address: addr},
		JWT:       jwt(),
		FileBytes: render.SecretBytes, TotalBytes: render.SecretBytes,
	}
}

// TestReadRendersEachGroupFromOneRead: the files of one path and of one PKI
// issue come from one store read each, and each file is rendered from it.
func TestReadRendersEachGroupFromOneRead(t *testing.T) {
	fs := &fakeStore{calls: map[string]int{}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	args := map[string]any{"common_name": "web"}
	req := request(srv.URL, "app",
		secretmodel.Object{ObjectName: "user", SecretPath: "secret/data/app", SecretKey: "user"},
		secretmodel.Object{ObjectName: "tls.crt", SecretPath: "pki/issue/web", Method: http.MethodPut, SecretArgs: args, SecretKey: "certificate"},
		secretmodel.Object{ObjectName: "dsn", SecretPath: "secret/data/app", Template: `{{ .user }}:{{ .password }}`},
		secretmodel.Object{ObjectName: "tls.key", SecretPath: "pki/issue/web", Method: http.MethodPut, SecretArgs: args, SecretKey: "private_key"},
	)
	groups, err := Read(context.Background(), store.New(store.Options{}), req)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var order []string
	for _, g := range groups {
		if g.Kept() {
			t.Errorf("group of %s kept without Keep", g.Objects[0].ObjectName)
		}
		for i, o := range g.Objects {
			got[o.ObjectName] = string(g.Contents[i])
			order = append(order, o.ObjectName)
		}
	}
	want := map[string]string{"user": "alice", "dsn": "alice:s3cr3t", "tls.crt": "CERT", "tls.key": "KEY"}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("file %s = %q, want %q", name, got[name], content)
		}
	}
	if strings.Join(order, ",") != "user,dsn,tls.crt,tls.key" {
		t.Errorf("files in order %v, want the groups in request order", order)
	}
	for key, n := range map[string]int{"GET /v1/secret/data/app": 1, "PUT /v1/pki/issue/web": 1, "PUT /v1/auth/kubernetes/login": 1} {
		if c := fs.count(key); c != n {
			t.Errorf("%s: %d requests, want %d", key, c, n)
		}
	}
}

// TestReadKeptGroupsNeitherLogInNorRead: a group the caller keeps is not
// read, and a request whose every group is kept issues nothing, not even a
// login. Reads of the others go through the caller's Read.
func TestReadKeptGroupsNeitherLogInNorRead(t *testing.T) {
	fs := &fakeStore{calls: map[string]int{}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	st := store.New(store.Options{})
	objects := []secretmodel.Object{
		{ObjectName: "user", SecretPath: "secret/data/app", SecretKey: "user"},
		{ObjectName: "tls.crt", SecretPath: "pki/issue/web", Method: http.MethodPut, SecretKey: "certificate"},
	}

	req := request(srv.URL, "app", objects...)
	req.Keep = func([]secretmodel.Object) bool { return true }
	groups, err := Read(context.Background(), st, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || !groups[0].Kept() || !groups[1].Kept() {
		t.Fatalf("groups %+v, want both kept", groups)
	}
	if n := fs.count("PUT /v1/auth/kubernetes/login"); n != 0 {
		t.Errorf("%d logins for a request with nothing to read", n)
	}

	req = request(srv.URL, "app", objects...)
	req.Keep = func(g []secretmodel.Object) bool { return g[0].Method == http.MethodPut }
	var reads []string
	req.Read = func(ctx context.Context, sess *store.Session, r store.Request) (*store.Secret, error) {
		reads = append(reads, r.Method+" "+r.Path)
		return sess.Read(ctx, r)
	}
	groups, err = Read(context.Background(), st, req)
	if err != nil {
		t.Fatal(err)
	}
	if groups[0].Kept() || string(groups[0].Contents[0]) != "alice" || !groups[1].Kept() {
		t.Errorf("groups %+v, want the GET read and the PUT kept", groups)
	}
	if strings.Join(reads, ",") != "GET secret/data/app" || fs.count("PUT /v1/pki/issue/web") != 0 {
		t.Errorf("reads through the caller %v, store PUTs %d; want the GET only", reads, fs.count("PUT /v1/pki/issue/web"))
	}
}

// TestReadErrorsNameStageSourceAndObject: each step's failure says which
// step failed, starts with the source, names the object where there is one,
// and still lets the caller classify the store's or render's error.
func TestReadErrorsNameStageSourceAndObject(t *testing.T) {
	fs := &fakeStore{calls: map[string]int{}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	cases := []struct {
		name    string
		req     Request
		stage   Stage
		message string
		is      func(error) bool
	}{
		{"no address", request("", "app", secretmodel.Object{ObjectName: "p", SecretPath: "secret/data/app"}),
			StageConnect, "SecretsStoreImport demo/app: no store address", nil},
		{"login refused", request(srv.URL, "refused", secretmodel.Object{ObjectName: "p", SecretPath: "secret/data/app"}),
			StageLogIn, "SecretsStoreImport demo/app: ", store.IsLoginRefused},
		{"nothing at the path", request(srv.URL, "app", secretmodel.Object{ObjectName: "p", SecretPath: "nothing/here", Ref: "files[3]"}),
			StageRead, "SecretsStoreImport demo/app: files[3]: read nothing/here: HTTP 404", store.IsNotFound},
		{"missing key", request(srv.URL, "app",
			secretmodel.Object{ObjectName: "u", SecretPath: "secret/data/app", SecretKey: "user"},
			secretmodel.Object{ObjectName: "p", SecretPath: "secret/data/app", SecretKey: "pass", Ref: "files[1]"}),
			StageRender, `SecretsStoreImport demo/app: files[1]: key "pass" not found at secret/data/app`, render.IsKeyMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			groups, err := Read(context.Background(), store.New(store.Options{}), c.req)
			var fe *Error
			if !errors.As(err, &fe) || fe.Stage != c.stage {
				t.Fatalf("Read = %v, %v; want a %s error", groups, err, c.stage)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("error %q, want %q", err, c.message)
			}
			if c.is != nil && !c.is(err) {
				t.Errorf("error %q does not classify as the store's or render's", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "c2ln") {
				t.Errorf("error reveals a value or token: %v", err)
			}
		})
	}
}
