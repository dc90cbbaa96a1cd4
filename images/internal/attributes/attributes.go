// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package attributes translates a SecretsStoreImport into the contract of
// images/internal/params: with the volume context kubelet sends, the
// attributes of a provider MountRequest (the CSI driver); for a
// KubernetesSecret import, the parameters the controller reads the store
// with. Both deliver the same objects from the same spec.files.
package attributes

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/deckhouse/secrets-store-integration/images/api/v1alpha1"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/secretmodel"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// ImportAttribute is the volume attribute that names the SecretsStoreImport.
const ImportAttribute = "secretsStoreImport"

// podKeys are the volume context entries kubelet fills (podInfoOnMount,
// tokenRequests) that the provider needs as they are.
var podKeys = []string{
	params.PodName,
	params.PodNamespace,
	params.PodUID,
	params.ServiceAccountName,
	params.ServiceAccountToken,
}

// Source is how errors name the object, e.g. "SecretsStoreImport demo/app".
func Source(namespace, name string) string {
	return fmt.Sprintf("%s %s/%s", v1alpha1.Kind, namespace, name)
}

// FromImport returns the MountRequest attributes for ssi and a pod whose
// volume context is volumeContext. The result is validated with
// params.FromMap, so an error names the object and the field.
func FromImport(ssi *v1alpha1.SecretsStoreImport, volumeContext map[string]string) (map[string]string, error) {
	if ssi.Spec.Type != "" && ssi.Spec.Type != v1alpha1.TypeCSI {
		return nil, fmt.Errorf("%s: spec.type %q: want %q", Source(ssi.Namespace, ssi.Name), ssi.Spec.Type, v1alpha1.TypeCSI)
	}
	attrs, err := common(ssi)
	if err != nil {
		return nil, err
	}
	attrs[params.KeepUnchangedFiles] = "true"
	for _, k := range podKeys {
		setIf(attrs, k, volumeContext[k])
	}
	if _, err := params.FromMap(attrs); err != nil {
		return nil, err
	}
	return attrs, nil
}

// ForSecretSync returns the parameters of a KubernetesSecret import: the
// same objects as a volume of it would have, and the identity of
// spec.serviceAccountName in the import's namespace. The token is not set:
// the controller asks the TokenRequest API for one. Each file name must be
// a valid Secret key.
func ForSecretSync(ssi *v1alpha1.SecretsStoreImport) (secretmodel.Parameters, error) {
	source := Source(ssi.Namespace, ssi.Name)
	switch {
	case ssi.Spec.Type != v1alpha1.TypeKubernetesSecret:
		return secretmodel.Parameters{}, fmt.Errorf("%s: spec.type %q: want %q", source, ssi.Spec.Type, v1alpha1.TypeKubernetesSecret)
	case ssi.Spec.ServiceAccountName == "":
		return secretmodel.Parameters{}, fmt.Errorf("%s: spec.serviceAccountName is empty", source)
	case ssi.Spec.Secret == nil || ssi.Spec.Secret.Name == "":
		return secretmodel.Parameters{}, fmt.Errorf("%s: spec.secret.name is empty", source)
	}
	for i, f := range ssi.Spec.Files {
		if msgs := validation.IsConfigMapKey(f.Name); len(msgs) > 0 {
			return secretmodel.Parameters{}, fmt.Errorf("%s: files[%d].name %q is not a Secret key: %s", source, i, f.Name, strings.Join(msgs, "; "))
		}
	}
	attrs, err := common(ssi)
	if err != nil {
		return secretmodel.Parameters{}, err
	}
	attrs[params.PodNamespace] = ssi.Namespace
	attrs[params.ServiceAccountName] = ssi.Spec.ServiceAccountName
	return params.FromMap(attrs)
}

// common returns the attributes both delivery types share: the store, the
// role and the objects.
func common(ssi *v1alpha1.SecretsStoreImport) (map[string]string, error) {
	source := Source(ssi.Namespace, ssi.Name)
	objects := make([]secretmodel.Object, 0, len(ssi.Spec.Files))
	for i, f := range ssi.Spec.Files {
		o, err := object(f, fmt.Sprintf("files[%d]", i))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		objects = append(objects, o)
	}
	encoded, err := params.EncodeObjects(objects)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	attrs := map[string]string{
		params.Source:             source,
		params.RoleName:           ssi.Spec.Role,
		params.Objects:            encoded,
		params.VaultSkipTLSVerify: strconv.FormatBool(ssi.Spec.SkipTLSVerify),
	}
	setIf(attrs, params.VaultAddress, ssi.Spec.Address)
	setIf(attrs, params.VaultAuthMountPath, ssi.Spec.AuthPath)
	setIf(attrs, params.VaultAuthType, ssi.Spec.AuthType)
	setIf(attrs, params.VaultNamespace, ssi.Spec.Namespace)
	setIf(attrs, params.VaultCACert, ssi.Spec.CACert)
	setIf(attrs, params.Audience, ssi.Spec.Audience)
	return attrs, nil
}

// object maps spec.files[i] to a provider object; ref names it in errors.
func object(f v1alpha1.File, ref string) (secretmodel.Object, error) {
	o := secretmodel.Object{
		ObjectName: f.Name,
		SecretPath: f.Source.Path,
		SecretKey:  f.Source.Key,
		Method:     f.Source.Method,
		SecretArgs: f.Source.Args,
		Encoding:   f.Encoding,
		Template:   f.Template,
		Version:    f.Source.Version,
		Ref:        ref,
	}
	// Checked here as well as by params so that errors use the
	// SecretsStoreImport's field names.
	if err := params.ValidateFileName(f.Name); err != nil {
		return o, fmt.Errorf("%s.name: %w", ref, err)
	}
	if err := store.ValidatePath(f.Source.Path); err != nil {
		return o, fmt.Errorf("%s.source.path: %w", ref, err)
	}
	if f.DecodeBase64 {
		if f.Encoding != secretmodel.EncodingNone && f.Encoding != secretmodel.EncodingBase64 {
			return o, fmt.Errorf("%s: decodeBase64 and encoding %q exclude each other", ref, f.Encoding)
		}
		o.Encoding = secretmodel.EncodingBase64
	}
	if f.Mode != nil {
		if *f.Mode < 0 || *f.Mode > 0o777 {
			return o, fmt.Errorf("%s.mode %d: want 0 to 0777 (511)", ref, *f.Mode)
		}
		o.FilePermission = os.FileMode(*f.Mode)
	}
	return o, nil
}

func setIf(attrs map[string]string, key, value string) {
	if value != "" {
		attrs[key] = value
	}
}
