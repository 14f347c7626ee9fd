package etag_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/pkg/etag"
)

func TestOf(t *testing.T) {
	const name = "shops/s1/tickets/t1"
	tag := etag.Of(name, 1)
	require.Len(t, tag, 16)
	require.Regexp(t, "^[0-9a-f]{16}$", tag)
	require.Equal(t, tag, etag.Of(name, 1), "must be deterministic")

	distinct := map[string]string{}
	for _, tc := range []struct {
		name    string
		version int64
	}{
		{name, 0}, {name, 1}, {name, 2}, {name, -1}, {name, 1 << 62},
		{"shops/s1/tickets/t2", 1},
		{"a1", 2}, {"a", 12}, // must not collide through concatenation
		{"", 0},
		{strings.Repeat("long/", 100), 7},
	} {
		got := etag.Of(tc.name, tc.version)
		require.Len(t, got, 16)
		key := fmt.Sprintf("%s@%d", tc.name, tc.version)
		prev, dup := distinct[got]
		require.False(t, dup, "%s collides with %s", key, prev)
		distinct[got] = key
	}
	require.NotContains(t, etag.Of(name, 12345), "12345", "should not expose the counter")
}

func TestMatch(t *testing.T) {
	const name = "shops/s1/tickets/t1"
	tag := etag.Of(name, 3)
	tests := []struct {
		name    string
		etag    string
		resName string
		version int64
		want    bool
	}{
		{name: "plain", etag: tag, resName: name, version: 3, want: true},
		{name: "quoted", etag: `"` + tag + `"`, resName: name, version: 3, want: true},
		{name: "weak quoted", etag: `W/"` + tag + `"`, resName: name, version: 3, want: true},
		{name: "weak unquoted", etag: "W/" + tag, resName: name, version: 3, want: true},
		{name: "stale version", etag: tag, resName: name, version: 4},
		{name: "other resource", etag: tag, resName: "shops/s1/tickets/t2", version: 3},
		{name: "upper case", etag: strings.ToUpper(tag), resName: name, version: 3},
		{name: "one quote", etag: `"` + tag, resName: name, version: 3},
		{name: "double quoted", etag: `""` + tag + `""`, resName: name, version: 3},
		{name: "lower-case weak prefix", etag: `w/"` + tag + `"`, resName: name, version: 3},
		{name: "truncated", etag: tag[:15], resName: name, version: 3},
		{name: "padded", etag: " " + tag, resName: name, version: 3},
		{name: "star", etag: "*", resName: name, version: 3},
		{name: "quotes only", etag: `""`, resName: name, version: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, etag.Match(tt.etag, tt.resName, tt.version))
		})
	}
}

// FuzzMatch: Match never panics and accepts exactly the current etag and
// its decorated forms; etags are deterministic and change with the version.
func FuzzMatch(f *testing.F) {
	f.Add("shops/s1/tickets/t1", int64(1), `W/"0123456789abcdef"`)
	f.Add("", int64(-1), "")
	f.Fuzz(func(t *testing.T, name string, version int64, tag string) {
		cur := etag.Of(name, version)
		// A client's etag matches only when it is the current etag, bare,
		// quoted or marked weak.
		want := tag == cur || tag == `"`+cur+`"` || tag == "W/"+cur || tag == `W/"`+cur+`"`
		require.Equal(t, want, etag.Match(tag, name, version), "etag %q for %q version %d", tag, name, version)

		require.Len(t, cur, 16)
		require.Equal(t, cur, etag.Of(name, version), "deterministic")
		require.True(t, etag.Match(cur, name, version))
		require.True(t, etag.Match(`W/"`+cur+`"`, name, version))
		require.False(t, etag.Match(etag.Of(name, version+1), name, version))
	})
}

func BenchmarkOf(b *testing.B) {
	for b.Loop() {
		etag.Of("shops/s1/tickets/0195a3f2-7c1e-7b3a-9a41-2f6d0c8e5b17", 42)
	}
}

func BenchmarkMatch(b *testing.B) {
	const name = "shops/s1/tickets/0195a3f2-7c1e-7b3a-9a41-2f6d0c8e5b17"
	tag := `"` + etag.Of(name, 42) + `"`
	for b.Loop() {
		if !etag.Match(tag, name, 42) {
			b.Fatal("no match")
		}
	}
}
