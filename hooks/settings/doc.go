// Package settings holds the tests of the module's OpenAPI schemas
// (openapi/config-values.yaml, values.yaml): they load them with
// addon-operator's own schema storage, the code that validates a
// ModuleConfig's spec.settings and the values before Helm, and check what it
// accepts and refuses, and that the hooks' output fits values.yaml.
package settings
