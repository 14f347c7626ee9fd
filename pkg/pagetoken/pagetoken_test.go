package pagetoken_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/pkg/pagetoken"
)

var (
	testQuery = pagetoken.Query{
		Parent:  "shops/s1",
		Filter:  `state="NEW"`,
		OrderBy: "create_time desc",
	}
	testPos = pagetoken.Position{
		CreateTime: time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC),
		ID:         "0195a3f2-7c1e-7b3a-9a41-2f6d0c8e5b17",
	}
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		q    pagetoken.Query
		pos  pagetoken.Position
		want pagetoken.Position // zero means pos
	}{
		{name: "typical", q: testQuery, pos: testPos},
		{name: "zero position", q: testQuery},
		{name: "empty query", pos: testPos},
		{name: "empty id", q: testQuery, pos: pagetoken.Position{CreateTime: testPos.CreateTime}},
		{name: "zero time", q: testQuery, pos: pagetoken.Position{ID: "x"}},
		{name: "unicode id", q: testQuery, pos: pagetoken.Position{CreateTime: testPos.CreateTime, ID: "tickét/ü/☃"}},
		{name: "before 1970", q: testQuery, pos: pagetoken.Position{CreateTime: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC), ID: "a"}},
		{name: "max time", q: testQuery, pos: pagetoken.Position{CreateTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), ID: "a"}},
		{
			name: "non-UTC input decodes as UTC",
			q:    testQuery,
			pos:  pagetoken.Position{CreateTime: time.Date(2026, 1, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600)), ID: "a"},
			want: pagetoken.Position{CreateTime: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC), ID: "a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := pagetoken.Encode(tt.q, tt.pos)
			require.NotEmpty(t, tok)
			require.LessOrEqual(t, len(tok), pagetoken.MaxLen)
			got, err := pagetoken.Decode(tok, tt.q)
			require.NoError(t, err)
			want := tt.want
			if want == (pagetoken.Position{}) {
				want = tt.pos
			}
			require.True(t, want.CreateTime.Equal(got.CreateTime), "got %v, want %v", got.CreateTime, want.CreateTime)
			require.Equal(t, time.UTC, got.CreateTime.Location())
			require.Equal(t, want.ID, got.ID)
		})
	}
}

func TestEncodeIsOpaqueAndCompact(t *testing.T) {
	tok := pagetoken.Encode(testQuery, testPos)
	require.Less(t, len(tok), 100, "token %q", tok)
	require.NotContains(t, tok, testPos.ID, "ID should not be readable")
	for _, r := range tok {
		require.True(t, r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z',
			"token %q is not URL-safe", tok)
	}
	require.Equal(t, tok, pagetoken.Encode(testQuery, testPos), "encoding must be deterministic")
}

func TestDecodeEmpty(t *testing.T) {
	pos, err := pagetoken.Decode("", testQuery)
	require.NoError(t, err)
	require.True(t, pos.IsZero())
}

func TestDecodeMismatch(t *testing.T) {
	tok := pagetoken.Encode(testQuery, testPos)
	tests := []struct {
		name string
		q    pagetoken.Query
	}{
		{name: "parent", q: pagetoken.Query{Parent: "shops/s2", Filter: testQuery.Filter, OrderBy: testQuery.OrderBy}},
		{name: "filter", q: pagetoken.Query{Parent: testQuery.Parent, Filter: `state="CLOSED"`, OrderBy: testQuery.OrderBy}},
		{name: "order by", q: pagetoken.Query{Parent: testQuery.Parent, Filter: testQuery.Filter, OrderBy: "create_time"}},
		{name: "extra", q: pagetoken.Query{Parent: testQuery.Parent, Filter: testQuery.Filter, OrderBy: testQuery.OrderBy, Extra: "show_deleted"}},
		{name: "empty", q: pagetoken.Query{}},
		{
			name: "bytes moved between fields",
			q:    pagetoken.Query{Parent: testQuery.Parent + testQuery.Filter, OrderBy: testQuery.OrderBy},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pagetoken.Decode(tok, tt.q)
			require.ErrorIs(t, err, pagetoken.ErrMismatch)
			require.NotErrorIs(t, err, pagetoken.ErrInvalid)
		})
	}
}

// raw builds a token by hand following the layout documented on Encode, to
// reach checks that a correct checksum would otherwise hide.
func raw(t *testing.T, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	return base64.RawURLEncoding.EncodeToString(append(body, sum[:4]...))
}

func TestDecodeInvalid(t *testing.T) {
	good := pagetoken.Encode(testQuery, testPos)
	goodBytes, err := base64.RawURLEncoding.DecodeString(good)
	require.NoError(t, err)
	body := goodBytes[:len(goodBytes)-4]
	fp := body[1:9]

	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 'A' ^ 'B'
	if flipped[len(flipped)/2] == good[len(good)/2] {
		flipped[len(flipped)/2] = 'Q'
	}

	withTail := func(tail ...byte) []byte {
		return append(append([]byte{1}, fp...), tail...)
	}

	tests := []struct {
		name  string
		token string
	}{
		{name: "too long", token: strings.Repeat("A", pagetoken.MaxLen+1)},
		{name: "not base64", token: "!!!!"},
		{name: "std base64 alphabet", token: strings.ReplaceAll(strings.ReplaceAll(good, "-", "+"), "_", "/") + "+"},
		{name: "padding", token: good + "=="},
		{name: "embedded newline", token: good[:10] + "\n" + good[10:]},
		{name: "truncated", token: good[:len(good)-3]},
		{name: "tiny", token: "AQ"},
		{name: "corrupted byte", token: string(flipped)},
		{name: "appended data", token: good + "AAAA"},
		{name: "unknown version", token: raw(t, append([]byte{2}, body[1:]...))},
		{name: "nanos out of range", token: raw(t, withTail(0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0))}, // 1e9
		{name: "time before year 1", token: raw(t, withTail(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0))},
		{name: "non-minimal varint", token: raw(t, withTail(0x80, 0x00, 0, 0))},
		{name: "id length too long", token: raw(t, withTail(0, 0, 5, 'a'))},
		{name: "id length too short", token: raw(t, withTail(0, 0, 1, 'a', 'b'))},
		{name: "invalid utf-8 id", token: raw(t, withTail(0, 0, 1, 0xff))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pagetoken.Decode(tt.token, testQuery)
			require.ErrorIs(t, err, pagetoken.ErrInvalid)
		})
	}

	// The hand-built layout must agree with Encode, or the cases above prove
	// nothing.
	pos, err := pagetoken.Decode(raw(t, withTail(0, 0, 1, 'a')), testQuery)
	require.NoError(t, err)
	require.Equal(t, pagetoken.Position{CreateTime: time.Unix(0, 0).UTC(), ID: "a"}, pos)
}

func TestSize(t *testing.T) {
	tests := []struct {
		name      string
		requested int32
		def, max  int32
		want      int
		wantErr   error
	}{
		{name: "zero uses default", requested: 0, def: 50, max: 1000, want: 50},
		{name: "within range", requested: 20, def: 50, max: 1000, want: 20},
		{name: "at max", requested: 1000, def: 50, max: 1000, want: 1000},
		{name: "above max is clamped", requested: 5000, def: 50, max: 1000, want: 1000},
		{name: "default above max is clamped", requested: 0, def: 50, max: 10, want: 10},
		{name: "one", requested: 1, def: pagetoken.DefaultSize, max: pagetoken.MaxSize, want: 1},
		{name: "negative", requested: -1, def: 50, max: 1000, wantErr: pagetoken.ErrNegativeSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pagetoken.Size(tt.requested, tt.def, tt.max)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// FuzzDecode: Decode never panics, refuses with ErrInvalid or ErrMismatch
// only, accepts only what Encode produces, and every position in the
// supported range round-trips and is bound to its query.
func FuzzDecode(f *testing.F) {
	f.Add(pagetoken.Encode(testQuery, testPos), "shops/s1", `state="NEW"`, "x", int64(0), uint32(0))
	f.Add(pagetoken.Encode(pagetoken.Query{}, pagetoken.Position{}), "", "", "", int64(-1), uint32(999999999))
	f.Add("AQ", "p", "", "id", int64(1<<40), uint32(5))
	f.Fuzz(func(t *testing.T, token, parent, filter, id string, sec int64, nsec uint32) {
		q := pagetoken.Query{Parent: parent, Filter: filter}

		// Arbitrary input must not panic, and whatever is accepted must be
		// exactly what Encode produces for the decoded position.
		pos, err := pagetoken.Decode(token, q)
		switch {
		case err != nil:
			// Errors are the documented client errors, nothing else.
			require.True(t, errors.Is(err, pagetoken.ErrInvalid) || errors.Is(err, pagetoken.ErrMismatch), "unclassified error %v", err)
			require.True(t, pos.IsZero())
		case token == "":
			require.True(t, pos.IsZero())
		default:
			require.Equal(t, token, pagetoken.Encode(q, pos))
			require.Equal(t, time.UTC, pos.CreateTime.Location())
			require.True(t, utf8Valid(pos.ID))
		}

		// Any position in the supported range survives a round trip.
		ct := time.Unix(sec%(250000*365*86400), int64(nsec%1e9)).UTC()
		if ct.Year() < 1 || ct.Year() > 9999 || !utf8Valid(id) {
			return
		}
		want := pagetoken.Position{CreateTime: ct, ID: id}
		tok := pagetoken.Encode(q, want)
		got, err := pagetoken.Decode(tok, q)
		if len(tok) > pagetoken.MaxLen {
			require.ErrorIs(t, err, pagetoken.ErrInvalid)
			return
		}
		require.NoError(t, err)
		require.True(t, want.CreateTime.Equal(got.CreateTime))
		require.Equal(t, want.ID, got.ID)

		_, err = pagetoken.Decode(tok, pagetoken.Query{Parent: parent + "x", Filter: filter})
		require.ErrorIs(t, err, pagetoken.ErrMismatch)
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func BenchmarkEncode(b *testing.B) {
	for b.Loop() {
		pagetoken.Encode(testQuery, testPos)
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := pagetoken.Encode(testQuery, testPos)
	for b.Loop() {
		if _, err := pagetoken.Decode(tok, testQuery); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSize(b *testing.B) {
	for b.Loop() {
		if _, err := pagetoken.Size(20, pagetoken.DefaultSize, pagetoken.MaxSize); err != nil {
			b.Fatal(err)
		}
	}
}
