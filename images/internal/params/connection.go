package params

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// Connection returns the store settings and the login of p, with the
// defaults filled in. The login has no token yet: the caller knows where it
// comes from (kubelet's volume context, the TokenRequest API).
func (d Defaults) Connection(p Parameters) (store.Config, store.Login) {
	cfg := store.Config{
		Address:   firstOf(p.Address, d.Address),
		Namespace: firstOf(p.Namespace, d.Namespace),
		TLS: store.TLS{
			CACertPEM: p.CACertPEM, CACertPath: p.CACertPath, ServerName: p.ServerName,
			ClientCert: p.ClientCert, ClientKey: p.ClientKey, SkipVerify: p.SkipVerify,
		},
	}
	// The default CA belongs to the default store only.
	if cfg.TLS.CACertPEM == "" && cfg.TLS.CACertPath == "" && (p.Address == "" || p.Address == d.Address) {
		cfg.TLS.CACertPath = d.CACertPath
	}
	mount := p.AuthMount
	if mount == "" {
		mount = d.AuthMount
		if p.AuthType == AuthJWT {
			mount = AuthJWT
		}
	}
	if mount == "" {
		mount = AuthKubernetes
	}
	return cfg, store.Login{AuthMount: mount, Role: p.Role, PodNamespace: p.PodNamespace, ServiceAccount: p.ServiceAccount}
}

// GroupByRead groups objects that need the same store read, in request
// order: GETs of one path and version, or PUT/POSTs of one path with equal
// arguments (a PKI issue's certificate and key must come from one call).
func GroupByRead(objects []Object) [][]Object {
	var groups [][]Object
	index := map[string]int{}
	for _, o := range objects {
		k := o.readKey()
		if i, ok := index[k]; ok {
			groups[i] = append(groups[i], o)
			continue
		}
		index[k] = len(groups)
		groups = append(groups, []Object{o})
	}
	return groups
}

func (o Object) readKey() string {
	args, _ := json.Marshal(o.SecretArgs) // maps marshal with sorted keys
	return fmt.Sprintf("%s %s %d %s", o.Method, strings.Trim(o.SecretPath, "/"), o.Version, args)
}
