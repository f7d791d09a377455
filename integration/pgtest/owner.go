package pgtest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// serverUser is the OS account that owns the cluster when pgtest runs as
// root: PostgreSQL refuses to run as root, and CI runs tests as root.
const serverUser = "postgres"

// owner is the OS identity the server runs as; nil means the current user.
type owner struct {
	uid, gid uint32
}

// serverOwner returns nil when not running as root, else the postgres user.
func serverOwner() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the %q OS user to run the server: %w", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: uid of %q: %w", serverUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: gid of %q: %w", serverUser, err)
	}
	return &owner{uid: uint32(uid), gid: uint32(gid)}, nil
}

// sysProcAttr makes a child process run as o.
func (o *owner) sysProcAttr() *syscall.SysProcAttr {
	if o == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: o.uid, Gid: o.gid}}
}

// chown gives path to o; a no-op for the current user.
func (o *owner) chown(path string) error {
	if o == nil {
		return nil
	}
	return os.Chown(path, int(o.uid), int(o.gid))
}

// maxBaseLen keeps the Unix socket path
// (base + "/pgtest-NNNNNNNNNN/socket/.s.PGSQL.NNNNN") under the 107-byte
// limit of sun_path.
const maxBaseLen = 64

// makeDir creates the cluster's temporary directory, mode 0755 and owned by
// o, under a base directory that o can reach.
func makeDir(o *owner) (string, error) {
	base, err := tempBase(o)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("pgtest: %w", err)
	}
	if err := o.chown(dir); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("pgtest: %w", err)
	}
	return dir, nil
}

// tempBase picks os.TempDir(), or /tmp when that is too long for a socket
// path or, running as root, not traversable by the postgres user (for
// example TMPDIR under /root).
func tempBase(o *owner) (string, error) {
	for _, base := range []string{os.TempDir(), "/tmp"} {
		base, err := filepath.Abs(base)
		if err != nil || len(base) > maxBaseLen {
			continue
		}
		if o == nil || traversableByOthers(base) {
			return base, nil
		}
	}
	return "", fmt.Errorf("pgtest: no temporary directory (TMPDIR=%q or /tmp) usable by the %s user: "+
		"it must be at most %d bytes long and world-traversable", os.Getenv("TMPDIR"), serverUser, maxBaseLen)
}

// traversableByOthers reports whether every directory from / down to dir has
// the other-execute bit. It ignores ACLs and group membership, erring on the
// side of choosing /tmp.
func traversableByOthers(dir string) bool {
	path := "/"
	for _, part := range append([]string{""}, strings.Split(strings.Trim(dir, "/"), "/")...) {
		path = filepath.Join(path, part)
		info, err := os.Stat(path)
		if err != nil || !info.IsDir() || info.Mode().Perm()&0o001 == 0 {
			return false
		}
	}
	return true
}
