package config

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads, parses and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Parse parses and validates data, the contents of the file at path (used in messages
// and to resolve relative file names; it is not read). It returns every problem it
// finds, each as an *Error naming file, line, key and reason: first syntax errors
// (which stop parsing), then unknown keys and values of the wrong type (which stop
// before validation, because the decoded values would be incomplete), then everything
// CheckAndSetDefaults finds.
func Parse(data []byte, path string) (*Config, error) {
	c := &Config{Path: path}
	src := string(data)

	var doc map[string]any
	if _, err := toml.Decode(src, &doc); err != nil {
		return nil, c.decodeError(err, false)
	}
	c.lines = indexLines(src)
	if errs := c.checkShape(doc); len(errs) > 0 {
		return nil, errs.join()
	}
	md, err := toml.Decode(src, c)
	if err != nil { // the shape check should have caught it; report it all the same
		return nil, c.decodeError(err, true)
	}
	c.setExpiries(doc)

	var errs errorList
	// A second line of defence: checkShape reports unknown keys with better messages.
	var last toml.Key
	for _, k := range md.Undecoded() {
		if last != nil && len(k) > len(last) && slices.Equal(k[:len(last)], last) {
			continue // inside a table already reported
		}
		errs.add(c.errorAt(k, "unknown key"))
		last = k
	}
	errs = append(errs, c.check()...)
	if err := errs.join(); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeError turns an error of the TOML decoder into an *Error. The key of a syntax
// error is left out: the decoder's "last key" is often the one before the mistake.
func (c *Config) decodeError(err error, withKey bool) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{Where: c.Path, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	e := &Error{Where: c.at(pe.Position.Line), Msg: pe.Message, line: pe.Position.Line}
	if withKey {
		e.Key = pe.LastKey
	} else {
		e.Msg = "syntax error: " + pe.Message
	}
	return e
}

// at formats a position in the file.
func (c *Config) at(line int) string {
	switch {
	case line <= 0:
		return c.Path
	case c.Path == "":
		return "line " + strconv.Itoa(line)
	}
	return c.Path + ":" + strconv.Itoa(line)
}
