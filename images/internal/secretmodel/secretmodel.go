// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package secretmodel is what a read of the store is about, whichever
// binary makes it: the files (objects) a request asks for and where their
// content comes from, the identity and store settings of the request, and
// the groups of objects that one store read serves. params parses the CSI
// wire form into it; the controller builds it from a SecretsStoreImport.
package secretmodel

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Encodings of a value in the store; the file gets the decoded bytes.
const (
	EncodingNone   = ""
	EncodingUTF8   = "utf-8"
	EncodingBase64 = "base64"
	EncodingHex    = "hex"
)

// Object is one file of the volume and where its content comes from. Its
// JSON names are those of the objects attribute (params.Objects).
type Object struct {
	// ObjectName is the file's path inside the volume.
	ObjectName string `json:"objectName"`
	// SecretPath is the API path of the secret, e.g. "secret/data/app"
	// (KV v2) or "pki/issue/web" (with Method PUT). vault-csi-provider's
	// "?version=N" query is taken out of it into Version by validation.
	SecretPath string `json:"secretPath"`
	// SecretKey selects one key of the secret's data; empty writes the
	// whole data as JSON (or the whole response: Parameters.WholeResponse).
	SecretKey string `json:"secretKey,omitempty"`
	// Method is GET (default), PUT or POST; PUT and POST send SecretArgs
	// as the body (dynamic secrets, PKI).
	Method     string         `json:"method,omitempty"`
	SecretArgs map[string]any `json:"secretArgs,omitempty"`
	// Encoding of the value in the store.
	Encoding string `json:"encoding,omitempty"`
	// FilePermission is the file's mode; zero means the request's
	// permission.
	FilePermission os.FileMode `json:"filePermission,omitempty"`
	// Template (ours) is a Go text/template with Sprig functions over the
	// secret's data, rendered in place of SecretKey.
	Template string `json:"template,omitempty"`
	// Version pins a KV v2 version; zero is the latest. vault-csi-provider
	// writes it as "?version=N" in secretPath; both forms are accepted.
	Version int `json:"version,omitempty"`
	// Ref (ours) is how errors name the object, e.g. "files[2]"; default
	// "objects[i]".
	Ref string `json:"ref,omitempty"`
}

// Parameters is a validated request: a MountRequest's attributes, or what
// the controller reads for a SecretsStoreImport.
type Parameters struct {
	Source string // e.g. "SecretsStoreImport demo/app"; "" if not given

	PodName, PodNamespace, PodUID, ServiceAccount string
	// Tokens are the service-account tokens by audience.
	Tokens map[string]string

	Role       string
	Address    string // "" means the provider's default
	AuthType   string
	AuthMount  string // "" means the provider's default
	Namespace  string
	Audience   string
	CACertPEM  string
	CACertPath string
	ServerName string
	ClientCert string // path
	ClientKey  string // path
	SkipVerify bool

	// KeepUnchangedFiles: see params.KeepUnchangedFiles.
	KeepUnchangedFiles bool

	// WholeResponse: an object without secretKey or template gets the
	// store's whole answer as JSON (request_id, lease_id, data, ...), as
	// vault-csi-provider writes it, rather than the secret's data alone.
	// It is the behaviour of requests in vault-csi-provider's form (a
	// SecretProviderClass through the upstream driver): those without the
	// source attribute our driver and controller always set. A
	// SecretsStoreImport keeps the data alone, which is what its users read.
	WholeResponse bool

	Objects []Object
}

// Errorf formats an error that starts with the request's source.
func (p Parameters) Errorf(format string, args ...any) error {
	if p.Source == "" {
		return fmt.Errorf(format, args...)
	}
	return fmt.Errorf(p.Source+": "+format, args...)
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
