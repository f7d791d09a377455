package rewriter

import (
	"fmt"

	"github.com/pgmask/pgmask/config"
)

// Profiles a role can have.
const (
	ProfileFull             = "full"
	ProfileMinimumNecessary = "minimum_necessary"
	ProfileLimitedDataSet   = "limited_data_set"
	ProfileSafeHarbor       = "safe_harbor"
)

// Policy is a compiled, immutable pgmask policy. Sessions read the current one per
// statement, so swapping it applies a reload to open sessions at their next statement.
type Policy struct {
	// Version increases with every compiled policy of one process; caches key on it.
	Version uint64
	roles   map[string]*role
}

type role struct {
	name    string
	profile string
}

// Compile validates cfg as a policy and returns its immutable compiled form.
func Compile(cfg *config.Config, version uint64) (*Policy, error) {
	p := &Policy{Version: version, roles: make(map[string]*role, len(cfg.Roles))}
	for name, r := range cfg.Roles {
		switch r.Profile {
		case ProfileFull, ProfileMinimumNecessary, ProfileLimitedDataSet, ProfileSafeHarbor:
		default:
			return nil, fmt.Errorf("roles.%s.profile: unknown profile %q", name, r.Profile)
		}
		p.roles[name] = &role{name: name, profile: r.Profile}
	}
	return p, nil
}

// HasRole reports whether the policy defines the named role.
func (p *Policy) HasRole(name string) bool { _, ok := p.roles[name]; return ok }

// Unrestricted reports whether the named role sees everything (profile full), so that
// protocol paths that carry no checkable SQL, such as the fast-path FunctionCall, may be
// forwarded for it.
func (p *Policy) Unrestricted(name string) bool {
	r, ok := p.roles[name]
	return ok && r.profile == ProfileFull
}
