package storetest

import (
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// NATSURLEnv names the NATS server (with JetStream) the change feed's
// tests publish to; scripts/test.sh starts one and sets it.
const NATSURLEnv = "AFTERSALES_TEST_NATS_URL"

// NATSURL returns the tests' NATS server: NATSURLEnv, or the default port
// when it is unset. Like Dialects without MySQLDSNEnv, a run without the
// variable and without a server skips; with the variable set, a server
// that does not answer fails the test.
func NATSURL(t testing.TB) string {
	t.Helper()
	url, set := os.LookupEnv(NATSURLEnv)
	if !set || url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		if !set {
			t.Skipf("no NATS server at %s (%v); set %s or run scripts/test.sh, which starts one", url, err, NATSURLEnv)
		}
		t.Fatalf("%s=%s: cannot connect: %v", NATSURLEnv, url, err)
	}
	nc.Close()
	return url
}
