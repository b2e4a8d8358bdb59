package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Tool returns the path of the named command, or skips (fails when tools are
// required) when it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "PRINTPAY_REQUIRE_TOOLS", "tool "+name+" is not installed (make test installs it)")
	}
	return p
}

// Postgres returns a DSN for the test database. PRINTPAY_TEST_POSTGRES
// overrides the default postgres://postgres@127.0.0.1:5432/test.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("PRINTPAY_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	service(t, "PostgreSQL", "127.0.0.1:5432")
	return dsn
}

// NATS returns the URL of the test NATS server (PRINTPAY_TEST_NATS overrides
// nats://127.0.0.1:4222).
func NATS(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PRINTPAY_TEST_NATS")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	service(t, "NATS", "127.0.0.1:4222")
	return u
}

// Long reports whether long-running suites were asked for (not -short).
func Long() bool { return !testing.Short() }

func service(t testing.TB, name, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		missing(t, "PRINTPAY_REQUIRE_SERVICES", name+" is not reachable at "+addr+": "+err.Error())
		return
	}
	c.Close()
}

func missing(t testing.TB, env, msg string) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s (%s=1)", msg, env)
	}
	t.Skip(msg)
}
