// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretfiles

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/render"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
	"github.com/deckhouse/secrets-store-integration/images/internal/store/storetest"
)

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
		JWT:       storetest.JWT("demo", "app"),
		FileBytes: render.SecretBytes, TotalBytes: render.SecretBytes,
	}
}

// TestReadRendersEachGroupFromOneRead: the files of one path and of one PKI
// issue come from one store read each, and each file is rendered from it.
func TestReadRendersEachGroupFromOneRead(t *testing.T) {
	srv := storetest.New(t)
	args := map[string]any{"common_name": "web"}
	req := request(srv.URL, "app",
		secretmodel.Object{ObjectName: "password", SecretPath: storetest.KVPath, SecretKey: "password"},
		secretmodel.Object{ObjectName: "tls.crt", SecretPath: storetest.PKIPath, Method: http.MethodPut, SecretArgs: args, SecretKey: "certificate"},
		secretmodel.Object{ObjectName: "dsn", SecretPath: storetest.KVPath, Template: `app:{{ .password }}`},
		secretmodel.Object{ObjectName: "tls.key", SecretPath: storetest.PKIPath, Method: http.MethodPut, SecretArgs: args, SecretKey: "private_key"},
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
	want := map[string]string{"password": storetest.Password, "dsn": "app:" + storetest.Password, "tls.crt": "CERT", "tls.key": "KEY"}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("file %s = %q, want %q", name, got[name], content)
		}
	}
	if strings.Join(order, ",") != "password,dsn,tls.crt,tls.key" {
		t.Errorf("files in order %v, want the groups in request order", order)
	}
	for key, n := range map[string]int{"GET /v1/" + storetest.KVPath: 1, "PUT /v1/" + storetest.PKIPath: 1} {
		if c := srv.Count(key); c != n {
			t.Errorf("%s: %d requests, want %d", key, c, n)
		}
	}
	if n := srv.Logins(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

// TestReadKeptGroupsNeitherLogInNorRead: a group the caller keeps is not
// read, and a request whose every group is kept issues nothing, not even a
// login. Reads of the others go through the caller's Read.
func TestReadKeptGroupsNeitherLogInNorRead(t *testing.T) {
	srv := storetest.New(t)
	st := store.New(store.Options{})
	objects := []secretmodel.Object{
		{ObjectName: "password", SecretPath: storetest.KVPath, SecretKey: "password"},
		{ObjectName: "tls.crt", SecretPath: storetest.PKIPath, Method: http.MethodPut, SecretKey: "certificate"},
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
	if n := srv.Logins(); n != 0 {
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
	if groups[0].Kept() || string(groups[0].Contents[0]) != storetest.Password || !groups[1].Kept() {
		t.Errorf("groups %+v, want the GET read and the PUT kept", groups)
	}
	if strings.Join(reads, ",") != "GET "+storetest.KVPath || srv.Count("PUT /v1/"+storetest.PKIPath) != 0 {
		t.Errorf("reads through the caller %v, store PUTs %d; want the GET only", reads, srv.Count("PUT /v1/"+storetest.PKIPath))
	}
}

// TestReadErrorsNameStageSourceAndObject: each step's failure says which
// step failed, starts with the source, names the object where there is one,
// and still lets the caller classify the store's or render's error.
func TestReadErrorsNameStageSourceAndObject(t *testing.T) {
	srv := storetest.New(t)
	cases := []struct {
		name    string
		req     Request
		stage   Stage
		message string
		is      func(error) bool
	}{
		{"no address", request("", "app", secretmodel.Object{ObjectName: "p", SecretPath: storetest.KVPath}),
			StageConnect, "SecretsStoreImport demo/app: no store address", nil},
		{"login refused", request(srv.URL, storetest.RefusedRole, secretmodel.Object{ObjectName: "p", SecretPath: storetest.KVPath}),
			StageLogIn, "SecretsStoreImport demo/app: ", store.IsLoginRefused},
		{"nothing at the path", request(srv.URL, "app", secretmodel.Object{ObjectName: "p", SecretPath: "nothing/here", Ref: "files[3]"}),
			StageRead, "SecretsStoreImport demo/app: files[3]: read nothing/here: HTTP 404", store.IsNotFound},
		{"missing key", request(srv.URL, "app",
			secretmodel.Object{ObjectName: "p", SecretPath: storetest.KVPath, SecretKey: "password"},
			secretmodel.Object{ObjectName: "q", SecretPath: storetest.KVPath, SecretKey: "pass", Ref: "files[1]"}),
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
			if strings.Contains(err.Error(), storetest.Password) || strings.Contains(err.Error(), "c2ln") {
				t.Errorf("error reveals a value or token: %v", err)
			}
		})
	}
}
