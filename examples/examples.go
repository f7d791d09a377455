// Package examples holds pgmask's documented example configuration. It is embedded so
// that `pgmask demo` serves exactly the file the documentation describes, and a test
// loads it so the documentation can never drift from the code.
package examples

import _ "embed"

// ConfigPath is the example's path in the repository, used in error messages.
const ConfigPath = "examples/pgmask.toml"

// Config is the text of examples/pgmask.toml.
//
//go:embed pgmask.toml
var Config []byte
