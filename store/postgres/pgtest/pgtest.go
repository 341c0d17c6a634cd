// Package pgtest starts throwaway PostgreSQL clusters for tests, from the
// server binaries of the machine's PostgreSQL package (Debian's
// postgresql-15: /usr/lib/postgresql/15/bin). A cluster lives in a temporary
// directory, listens on a free loopback port and a Unix socket in that
// directory, runs without fsync (its data is thrown away), and is stopped
// and deleted when the tests are done.
//
// Share one cluster per package and give each test a fresh database:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.Database(t) // an empty schema, dropped after the test
//		...
//	}
//
// initdb refuses to run as root. When the tests run as root, pgtest runs
// the server as the "postgres" system user (created by the Debian
// package) with runuser, and makes its directory that user's.
//
// Fault tests start a cluster of their own (StartCluster) and break it for
// real: Halt stops the server (fast mode, data kept), Restart starts it again
// on the same port, Freeze stops every server process with SIGSTOP (a hung
// host: connections are accepted by the kernel and never answered) and Thaw
// resumes them.
//
// When no PostgreSQL binaries are found, tests that need a cluster are
// skipped, unless the environment variable CI is set, where they fail. Set
// NECTAR_PG_BIN to the directory holding initdb and pg_ctl to use other
// binaries.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nectar-run/nectar/store/postgres"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	// DSN connects to the cluster's postgres database as its superuser.
	DSN string

	dir, bin string
	runAs    string // system user running the server, "" for ourselves
	opts     string // server options, kept so that Restart listens on the same port
	n        atomic.Int64
	frozen   []int // processes stopped by Freeze
}

// ErrNoPostgres is returned by StartCluster when no PostgreSQL server
// binaries are found.
var ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries not found (apt-get install -y postgresql-15, or set NECTAR_PG_BIN)")

// binDir finds the directory holding initdb and pg_ctl.
func binDir() (string, error) {
	if d := os.Getenv("NECTAR_PG_BIN"); d != "" {
		return d, nil
	}
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/initdb"); err == nil {
		return "/usr/lib/postgresql/15/bin", nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) > 0 {
		slices.SortFunc(found, func(a, b string) int { return versionOf(b) - versionOf(a) })
		return filepath.Dir(found[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

func versionOf(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// StartCluster initialises and starts a cluster. Call Stop when done.
func StartCluster() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nectar-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root, and initdb refuses root: need the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		c.runAs = "postgres"
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	var lastErr error
	for range 3 { // a free port can be taken between probing and binding
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		opts := strings.Join([]string{
			"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=300", "-c", "shared_buffers=32MB",
		}, " ")
		c.opts = opts
		out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return c, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		lastErr = fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, tail(log, 2000))
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("pgtest: %w", lastErr)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// run runs a PostgreSQL binary, as the postgres user when we are root.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the cluster at once and deletes its directory.
func (c *Cluster) Stop() error {
	c.Thaw()
	var out []byte
	var err error
	if _, serr := os.Stat(filepath.Join(c.dir, "data", "postmaster.pid")); serr == nil { // not halted
		out, err = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	}
	if rerr := os.RemoveAll(c.dir); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Database gives t an empty place in the cluster and returns a DSN to it:
// a new schema in the cluster's postgres database, made the connection's
// search_path, and dropped when t ends. A schema is much cheaper to create
// than a database (no template copy, no checkpoint), and isolates tables,
// sequences and migrations the same way. Use NewDatabase for a whole
// database.
func (c *Cluster) Database(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), c.n.Add(1))
	c.create(t, "CREATE SCHEMA "+name, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
	return c.DSN + "&search_path=" + name
}

// NewDatabase creates an empty database, drops it when t ends and returns
// its DSN.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), c.n.Add(1))
	c.create(t, "CREATE DATABASE "+name, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return strings.Replace(c.DSN, "/postgres?", "/"+name+"?", 1)
}

func (c *Cluster) create(t testing.TB, create, drop string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.exec(ctx, create); err != nil {
		t.Fatalf("pgtest: %s: %v", create, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.exec(ctx, drop); err != nil {
			t.Errorf("pgtest: %s: %v", drop, err)
		}
	})
}

func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// Start starts a cluster for t alone, stopped when t ends, and returns its
// DSN. Prefer Main and Database, which share one cluster per package.
func Start(t testing.TB) string {
	t.Helper()
	c, err := StartCluster()
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c.DSN
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNoPostgres) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	t.Fatal(err)
}

var shared struct {
	sync.Mutex
	c   *Cluster
	err error
}

// Main runs the package's tests (m.Run) and stops the shared cluster that
// Database started, if any. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		shared.c = nil
	}
	return code
}

// Database returns the DSN of a new empty schema (see Cluster.Database),
// dropped when t ends, in the package's shared cluster, which it starts on
// first use. The cluster is stopped by Main, so use Database only in
// packages whose TestMain calls Main.
func Database(t testing.TB) string {
	t.Helper()
	return Shared(t).Database(t)
}

// Shared returns the package's shared cluster, starting it on first use;
// Main stops it.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.Lock()
	if shared.c == nil && shared.err == nil {
		shared.c, shared.err = StartCluster()
	}
	c, err := shared.c, shared.err
	shared.Unlock()
	if err != nil {
		skipOrFail(t, err)
	}
	return c
}

// Fault injection. A test that needs the store to fail starts its own
// cluster (StartCluster, or Start) and stops, restarts or freezes it: the
// faults are the real ones, seen by the real driver.

// Halt stops the server (fast mode: every connection is cut at once, as in
// an outage, and what was committed is kept), keeping its data for Restart.
// Not immediate mode: the cluster runs without fsync, so a crash loses what
// was committed, tables included.
func (c *Cluster) Halt() error {
	c.Thaw()
	out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop")
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Restart starts a halted server again, on the same port and with the same
// data.
func (c *Cluster) Restart() error {
	data := filepath.Join(c.dir, "data")
	out, err := c.run("pg_ctl", "-D", data, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "-o", c.opts, "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, tail(log, 2000))
	}
	return nil
}

// Freeze stops every process of the server with SIGSTOP: connections stay
// open and new ones are accepted by the kernel, but nothing answers, as
// with a hung host. Thaw resumes them.
func (c *Cluster) Freeze() error {
	pids, err := c.processes()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err == nil {
			c.frozen = append(c.frozen, pid)
		}
	}
	return nil
}

// Thaw resumes the processes Freeze stopped.
func (c *Cluster) Thaw() {
	for _, pid := range c.frozen {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	c.frozen = nil
}

// processes returns the postmaster's pid and its children's.
func (c *Cluster) processes() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "data", "postmaster.pid"))
	if err != nil {
		return nil, fmt.Errorf("pgtest: the server is not running: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("pgtest: postmaster.pid: %w", err)
	}
	pids := []int{pm}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
		i := strings.LastIndexByte(string(st), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pm) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Open opens a store on dsn with opts, closed when t ends; a failure to
// open fails t.
func Open(t testing.TB, dsn string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
