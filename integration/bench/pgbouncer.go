package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pgmask/pgmask/integration/pgtest"
)

// startPgBouncer runs PgBouncer in session pooling mode in front of the cluster when it
// is installed (apt-get install pgbouncer), so the table shows what a mature C proxy
// costs on the same machine in the same run: the fairest yardstick for pgmask's ratios.
// It is optional; without PgBouncer the benchmark runs without this row.
func startPgBouncer(cluster *pgtest.Cluster) (target, func(), error) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/pgbouncer"); statErr != nil {
			return target{}, nil, errors.New("pgbouncer is not installed")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	port, err := freePort()
	if err != nil {
		return target{}, nil, err
	}
	dir, err := os.MkdirTemp("", "pgmask-bench-pgbouncer-")
	if err != nil {
		return target{}, nil, err
	}
	ini := fmt.Sprintf(`[databases]
bench = host=%s port=%d dbname=bench user=%s password=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = session
max_client_conn = 200
default_pool_size = 50
logfile = %s
pidfile = %s
`, cluster.SocketDir(), cluster.Port, cluster.User, cluster.Password, port,
		filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
	path := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(path, []byte(ini), 0o600); err != nil {
		os.RemoveAll(dir)
		return target{}, nil, err
	}
	args := []string{path}
	// PgBouncer refuses to run as root; drop to the cluster's OS user as pgtest does.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return target{}, nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, f := range []string{dir, path} {
			if err := os.Chown(f, uid, gid); err != nil {
				os.RemoveAll(dir)
				return target{}, nil, err
			}
		}
		args = []string{"-u", "postgres", path}
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return target{}, nil, err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			stop()
			return target{}, nil, fmt.Errorf("pgbouncer did not start listening:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return target{name: "pgbouncer", host: "127.0.0.1", port: port, user: cluster.User, password: cluster.Password, cpu: pidCPU(cmd.Process.Pid)}, stop, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
