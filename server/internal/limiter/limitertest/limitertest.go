// Package limitertest finds the Redis that the tests of shared rate
// limits run against, and gives each test keys of its own there.
package limitertest

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisURLEnv names the Redis the tests use; scripts/test.sh (through
// scripts/lib-redis.sh) starts one and sets it.
const RedisURLEnv = "AFTERSALES_TEST_REDIS_URL"

// defaultAddr is where developer machines and CI run Redis.
const defaultAddr = "127.0.0.1:6379"

// RedisURL returns the tests' Redis: RedisURLEnv, or 127.0.0.1:6379 when
// it is unset. The test is skipped only when the variable is unset and
// nothing listens on that port; a server that does not answer PING fails
// it, so that a broken Redis is never mistaken for a missing one.
func RedisURL(t testing.TB) string {
	t.Helper()
	url, set := os.LookupEnv(RedisURLEnv)
	if !set || url == "" {
		set = false
		url = "redis://" + defaultAddr + "/0"
		c, err := net.DialTimeout("tcp", defaultAddr, 2*time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			t.Skipf("no Redis: %s is unset and nothing listens on %s; run scripts/test.sh, which starts one, or set %s",
				RedisURLEnv, defaultAddr, RedisURLEnv)
		}
		if err == nil {
			_ = c.Close()
		}
	}
	client := Client(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		if set {
			t.Fatalf("%s: Redis does not answer: %v", RedisURLEnv, err)
		}
		t.Fatalf("something listens on %s but does not answer as Redis: %v; set %s to a working Redis", defaultAddr, err, RedisURLEnv)
	}
	return url
}

// Client returns a client of the Redis at url, closed when the test ends.
func Client(t testing.TB, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("Redis URL: %v", err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix returns a key prefix of the test's own, "test:<random>:", so
// that tests running at once (or a test run twice) never share a bucket,
// and deletes the keys under it in the Redis at url when the test ends
// (they would expire by themselves once their buckets are full again).
func Prefix(t testing.TB, url string) string {
	t.Helper()
	prefix := "test:" + rand.Text()[:12] + ":"
	client := Client(t, url)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// The limiter's keys start with redis_rate's "rate:".
		iter := client.Scan(ctx, 0, "rate:"+prefix+"*", 100).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = client.Del(ctx, keys...).Err()
		}
	})
	return prefix
}

// ClosedURL returns the URL of a Redis that is not there: a loopback
// port that was free a moment ago, where connecting is refused.
func ClosedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "redis://" + addr + "/0"
}
