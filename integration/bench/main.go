// Command bench measures what pgmask costs: pgbench -S (select-only) directly against
// PostgreSQL and through pgmask, in the simple, extended and prepared query modes,
// interleaved in one run so both see the same machine load, and prints the median TPS
// of each target and its ratio to direct.
//
// Run it with `make bench` (BENCH_SECONDS sets the length of each pgbench run).
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgmask/pgmask/config"
	"github.com/pgmask/pgmask/integration/pgtest"
	"github.com/pgmask/pgmask/proxy"
	"github.com/pgmask/pgmask/proxy/scram"
)

// What to run (flags -targets and -modes).
var (
	onlyTargets string
	modes       []string
)

// A target is one way pgbench reaches the data.
type target struct {
	name     string
	host     string
	port     int
	user     string
	password string
	// cpu reports the CPU time (user + system) the proxy process in front of the
	// data has used so far; nil for direct.
	cpu func() (time.Duration, error)
}

// A sample is one pgbench run through one target.
type sample struct {
	tps float64
	// cpuPerTx is the proxy's CPU time per transaction in microseconds: the cost
	// DESIGN.md §8 budgets against PgBouncer's, independent of how saturated the
	// machine is. NaN without a meter.
	cpuPerTx float64
}

func main() {
	seconds := flag.Int("seconds", 20, "length of each pgbench run")
	rounds := flag.Int("rounds", 3, "interleaved rounds per mode (the median is reported)")
	clients := flag.Int("clients", 8, "pgbench clients (-c)")
	scale := flag.Int("scale", 10, "pgbench scale factor (-s)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the in-process pgmask to this file")
	only := flag.String("targets", "", "comma-separated targets to run besides direct (default: all)")
	modeList := flag.String("modes", "simple,extended,prepared", "comma-separated pgbench query modes")
	flag.Parse()
	onlyTargets, modes = *only, strings.Split(*modeList, ",")
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*seconds, *rounds, *clients, *scale); err != nil {
		log.Fatal(err)
	}
}

func run(seconds, rounds, clients, scale int) error {
	ctx := context.Background()
	cluster, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{"max_connections": "100"}})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	if err := cluster.CreateDatabase(ctx, "bench"); err != nil {
		return err
	}
	direct := target{name: "direct", host: cluster.Host, port: cluster.Port, user: cluster.User, password: cluster.Password}
	if out, err := pgbench(direct, "-i", "-q", "-s", strconv.Itoa(scale), "bench"); err != nil {
		return fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}

	targets, stop, err := startProxies(cluster)
	if err != nil {
		return err
	}
	defer stop()
	targets = append([]target{direct}, targets...)
	forwarder, stopForwarder, err := startForwarder(filepath.Join(cluster.SocketDir(), ".s.PGSQL."+strconv.Itoa(cluster.Port)), direct)
	if err != nil {
		return err
	}
	defer stopForwarder()
	targets = append(targets, forwarder)
	if bouncer, stopBouncer, err := startPgBouncer(cluster); err != nil {
		fmt.Fprintf(os.Stderr, "no PgBouncer reference: %v\n", err)
	} else {
		defer stopBouncer()
		targets = append(targets, bouncer)
	}

	if onlyTargets != "" {
		keep := []target{direct}
		for _, t := range targets {
			if slices.Contains(strings.Split(onlyTargets, ","), t.name) {
				keep = append(keep, t)
			}
		}
		targets = keep
	}
	samples := map[string]map[string][]sample{}
	for _, t := range targets {
		samples[t.name] = map[string][]sample{}
	}
	fmt.Fprintf(os.Stderr, "pgbench -S -c %d -j 2 -T %d, %d rounds, scale %d\n", clients, seconds, rounds, scale)
	for r := 1; r <= rounds; r++ {
		for _, mode := range modes {
			for _, t := range targets {
				s, err := runSelectOnly(t, mode, clients, seconds)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "round %d %-8s %-20s %10.0f tps %s\n", r, mode, t.name, s.tps, cpuColumn(s.cpuPerTx))
				samples[t.name][mode] = append(samples[t.name][mode], s)
			}
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "mode\ttarget\tmedian tps\tratio to direct\tproxy CPU µs/tx\t")
	for _, mode := range modes {
		base := median(samples["direct"][mode], func(s sample) float64 { return s.tps })
		for _, t := range targets {
			m := median(samples[t.name][mode], func(s sample) float64 { return s.tps })
			cpu := median(samples[t.name][mode], func(s sample) float64 { return s.cpuPerTx })
			fmt.Fprintf(w, "%s\t%s\t%.0f\t%.3f\t%s\t\n", mode, t.name, m, m/base, cpuColumn(cpu))
		}
	}
	return w.Flush()
}

func cpuColumn(us float64) string {
	if math.IsNaN(us) {
		return "-"
	}
	return fmt.Sprintf("%.1f", us)
}

// socketAddress is the cluster's Unix socket as an [upstream] address. The proxies
// measured here reach PostgreSQL through it, as a proxy on the database host should
// (docs/configuration.md); the clients, like direct, come over TCP.
func socketAddress(cluster *pgtest.Cluster) string {
	return cluster.SocketDir() + ":" + strconv.Itoa(cluster.Port)
}

// startProxies runs pgmask in this process in front of the cluster, with one user per
// role the benchmark compares: "full" (no rewriting) and "masked" (minimum necessary,
// pgbench_accounts.filler redacted, so every statement is rewritten), both without an
// audit log; a second pgmask for the full role that reaches PostgreSQL over loopback
// TCP instead of the socket, so the table shows what the upstream transport costs; and
// a third with a file audit log in a temporary directory, for both roles again, so
// the cost of auditing is measured in the same run.
func startProxies(cluster *pgtest.Cluster) ([]target, func(), error) {
	password := rand.Text()
	salt := make([]byte, 16)
	rand.Read(salt)
	v, err := scram.NewVerifier(password, salt, 4096)
	if err != nil {
		return nil, nil, err
	}
	cfg := &config.Config{
		Server: config.Server{Listen: "127.0.0.1:0"},
		Upstream: config.Upstream{
			Address:  socketAddress(cluster),
			Database: "bench", User: cluster.User, Password: cluster.Password, SSLMode: "disable",
		},
		Tables: map[string]config.Table{
			"public.pgbench_accounts": {Columns: map[string]string{
				"aid": "none", "bid": "none", "abalance": "none", "filler": "free_text",
			}},
			// pgbench counts the branches when it starts.
			"public.pgbench_branches": {Columns: map[string]string{
				"bid": "none", "bbalance": "none", "filler": "none",
			}},
		},
		Roles: map[string]config.Role{
			"full": {Profile: "full"},
			"masked": {
				Profile: "minimum_necessary",
				Tables:  []string{"public.pgbench_accounts", "public.pgbench_branches"},
				Columns: map[string]string{"public.pgbench_accounts.filler": "redact"},
			},
		},
		Users: map[string]config.User{
			"bench_full":   {Password: v.String(), Role: "full"},
			"bench_masked": {Password: v.String(), Role: "masked"},
		},
	}
	var stops []func()
	stop := func() {
		for _, f := range stops {
			f()
		}
	}
	start := func(c *config.Config) (int, error) {
		port, f, err := serve(c)
		if err != nil {
			stop()
			return 0, err
		}
		stops = append(stops, f)
		return port, nil
	}

	plain := *cfg
	plain.Audit = config.Audit{Sink: config.AuditSinkOff}
	port, err := start(&plain)
	if err != nil {
		return nil, nil, err
	}
	// The same, reaching PostgreSQL over loopback TCP instead of its socket.
	tcp := plain
	tcp.Upstream.Address = net.JoinHostPort(cluster.Host, strconv.Itoa(cluster.Port))
	tcpPort, err := start(&tcp)
	if err != nil {
		return nil, nil, err
	}

	dir, err := os.MkdirTemp("", "pgmask-bench-audit-")
	if err != nil {
		stop()
		return nil, nil, err
	}
	// The default queue_limit (10000 records) is under a second of this load: one slow
	// fsync of a busy test machine would make pgmask refuse statements and abort the
	// run. A larger queue changes when pgmask fails closed, not what auditing costs.
	audited := *cfg
	audited.Audit = config.Audit{
		Sink: config.AuditSinkFile, Path: filepath.Join(dir, "audit.jsonl"), KeyFile: filepath.Join(dir, "audit.key"),
		QueueLimit: 200000,
	}
	stops = append(stops, func() {
		if info, err := os.Stat(audited.Audit.Path); err == nil {
			fmt.Fprintf(os.Stderr, "audit log of pgmask-masked-audit: %d bytes\n", info.Size())
		}
		os.RemoveAll(dir)
	})
	if err := os.WriteFile(audited.Audit.KeyFile, []byte(rand.Text()), 0o600); err != nil {
		stop()
		return nil, nil, err
	}
	auditPort, err := start(&audited)
	if err != nil {
		return nil, nil, err
	}
	return []target{
		{name: "pgmask-full", cpu: selfCPU, host: "127.0.0.1", port: port, user: "bench_full", password: password},
		{name: "pgmask-full-tcp", cpu: selfCPU, host: "127.0.0.1", port: tcpPort, user: "bench_full", password: password},
		{name: "pgmask-masked", cpu: selfCPU, host: "127.0.0.1", port: port, user: "bench_masked", password: password},
		{name: "pgmask-full-audit", cpu: selfCPU, host: "127.0.0.1", port: auditPort, user: "bench_full", password: password},
		{name: "pgmask-masked-audit", cpu: selfCPU, host: "127.0.0.1", port: auditPort, user: "bench_masked", password: password},
	}, stop, nil
}

// serve runs a pgmask server with cfg on a free port until stop is called.
func serve(cfg *config.Config) (port int, stop func(), err error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return 0, nil, err
	}
	srv, err := proxy.NewServer(proxy.Options{Config: cfg})
	if err != nil {
		return 0, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Shutdown(context.Background())
		return 0, nil, err
	}
	go srv.Serve(ln)
	return ln.Addr().(*net.TCPAddr).Port, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "shutting pgmask down: %v\n", err)
		}
	}, nil
}

var (
	tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \((without initial connection time|excluding connections establishing)\)`)
	txLine  = regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
)

func runSelectOnly(t target, mode string, clients, seconds int) (sample, error) {
	before, err := readCPU(t)
	if err != nil {
		return sample{}, err
	}
	out, err := pgbench(t, "-S", "-n", "-M", mode, "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(seconds), "bench")
	if err != nil {
		return sample{}, fmt.Errorf("pgbench %s via %s: %v\n%s", mode, t.name, err, out)
	}
	after, err := readCPU(t)
	if err != nil {
		return sample{}, err
	}
	m, n := tpsLine.FindStringSubmatch(out), txLine.FindStringSubmatch(out)
	if m == nil || n == nil {
		return sample{}, fmt.Errorf("no tps or transaction count in pgbench output:\n%s", out)
	}
	s := sample{cpuPerTx: math.NaN()}
	if s.tps, err = strconv.ParseFloat(m[1], 64); err != nil {
		return sample{}, err
	}
	txs, err := strconv.ParseFloat(n[1], 64)
	if err != nil {
		return sample{}, err
	}
	if t.cpu != nil && txs > 0 {
		s.cpuPerTx = float64((after - before).Microseconds()) / txs
	}
	return s, nil
}

func readCPU(t target) (time.Duration, error) {
	if t.cpu == nil {
		return 0, nil
	}
	return t.cpu()
}

func pgbench(t target, args ...string) (string, error) {
	cmd := exec.Command("pgbench", append([]string{"-h", t.host, "-p", strconv.Itoa(t.port), "-U", t.user}, args...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+t.password, "PGSSLMODE=disable")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func median(samples []sample, field func(sample) float64) float64 {
	if len(samples) == 0 {
		return math.NaN()
	}
	s := make([]float64, len(samples))
	for i, v := range samples {
		s[i] = field(v)
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
