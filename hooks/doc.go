// Package hooks registers the module's Go hooks with addon-operator. Each
// hook's logic and configuration live in a package of their own (webhookcert,
// connection), tested there through addon-operator's GoHook.Execute (see
// hooktest); this package only registers them, one file per hook because
// addon-operator names a hook after the file that registers it.
//
// addon-operator takes the module's name from the registering file's path,
// which must read .../modules/<NNN>-secrets-store-integration/hooks/...,
// as it does in a Deckhouse build tree. Anywhere else the registration
// panics at init, so nothing but that build imports this package; tests
// import the hook packages directly.
package hooks
