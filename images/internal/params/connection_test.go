package params

import "testing"

func TestConnectionDefaults(t *testing.T) {
	d := Defaults{Address: "https://vault:8200", CACertPath: "/ca.pem", AuthMount: "k8s", Namespace: "team"}
	cfg, login := d.Connection(Parameters{Role: "app", AuthType: AuthKubernetes, PodNamespace: "demo", ServiceAccount: "app"})
	if cfg.Address != "https://vault:8200" || cfg.TLS.CACertPath != "/ca.pem" || cfg.Namespace != "team" || login.AuthMount != "k8s" {
		t.Errorf("defaults: %+v %+v", cfg, login)
	}
	if login.Role != "app" || login.PodNamespace != "demo" || login.ServiceAccount != "app" || login.JWT != "" {
		t.Errorf("login: %+v", login)
	}
	cfg, login = d.Connection(Parameters{Role: "app", AuthType: AuthJWT, Address: "https://other:8200", Namespace: "x"})
	if cfg.Address != "https://other:8200" || cfg.TLS.CACertPath != "" || cfg.Namespace != "x" || login.AuthMount != "jwt" {
		t.Errorf("another store must not get the default CA: %+v %+v", cfg, login)
	}
	cfg, _ = d.Connection(Parameters{Role: "app", CACertPEM: "PEM"})
	if cfg.TLS.CACertPath != "" || cfg.TLS.CACertPEM != "PEM" {
		t.Errorf("inline CA: %+v", cfg.TLS)
	}
	if _, login := (Defaults{}).Connection(Parameters{Role: "app"}); login.AuthMount != AuthKubernetes {
		t.Errorf("no default mount: %q, want %q", login.AuthMount, AuthKubernetes)
	}
}

func TestGroupByReadKeepsPKIIssueTogether(t *testing.T) {
	objects := []Object{
		{ObjectName: "tls.crt", SecretPath: "pki/issue/web", Method: "PUT", SecretArgs: map[string]any{"common_name": "a", "ttl": "1h"}},
		{ObjectName: "user", SecretPath: "secret/data/app", Method: "GET"},
		{ObjectName: "tls.key", SecretPath: "pki/issue/web", Method: "PUT", SecretArgs: map[string]any{"ttl": "1h", "common_name": "a"}},
		{ObjectName: "other.crt", SecretPath: "pki/issue/web", Method: "PUT", SecretArgs: map[string]any{"common_name": "b"}},
		{ObjectName: "pass", SecretPath: "secret/data/app", Method: "GET"},
		{ObjectName: "old", SecretPath: "secret/data/app", Method: "GET", Version: 1},
	}
	groups := GroupByRead(objects)
	var names [][]string
	for _, g := range groups {
		var n []string
		for _, o := range g {
			n = append(n, o.ObjectName)
		}
		names = append(names, n)
	}
	want := [][]string{{"tls.crt", "tls.key"}, {"user", "pass"}, {"other.crt"}, {"old"}}
	if len(names) != len(want) {
		t.Fatalf("groups %v, want %v", names, want)
	}
	for i := range want {
		if len(names[i]) != len(want[i]) || names[i][0] != want[i][0] || names[i][len(names[i])-1] != want[i][len(want[i])-1] {
			t.Errorf("group %d = %v, want %v", i, names[i], want[i])
		}
	}
}
