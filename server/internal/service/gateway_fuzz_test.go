package service_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store"
)

// fuzzVerbs are the HTTP methods FuzzGateway picks from.
var fuzzVerbs = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut}

// FuzzGateway sends arbitrary requests to the JSON gateway of a real
// server (SQLite), as the bootstrap admin so that they get past the gate:
// any HTTP method, path, query string and body. Whatever the request, the
// answer is never a 5xx or a dropped connection (a panic), and an error
// is a google.rpc.Status with the HTTP status of its code, an ErrorInfo,
// and field violations when INVALID_ARGUMENT (jsonProblem). The seeds
// are every route of every method, with names of existing and missing
// resources, and a few hostile spellings.
func FuzzGateway(f *testing.F) {
	e := start(f, store.DialectSQLite, func(c *config.Config) { c.LogLevel = slog.LevelError })
	fx := e.seed()
	tk := e.newTicket(fx, fx.inWarranty)
	admin := e.adminActor()

	real := map[string]string{}
	for _, n := range []string{tk.GetName(), fx.customer.GetName(), fx.inWarranty.GetName(), fx.partner.GetName(), fx.agent.GetName()} {
		segs := strings.Split(n, "/")
		for i := 1; i < len(segs); i += 2 {
			segs[i] = "*"
		}
		real[strings.Join(segs, "/")] = n
	}
	methods := map[string]bool{}
	protoMethods := accMethods(f)
	for _, name := range accSorted(protoMethods) {
		md := protoMethods[name]
		if md.IsStreamingServer() {
			continue // gRPC only
		}
		route, ok := hostileRouteOf(md)
		if !ok {
			continue
		}
		verb := 0
		for i, v := range fuzzVerbs {
			if v == route.verb {
				verb = i
			}
		}
		for _, useReal := range []bool{false, true} {
			path := accPathVar.ReplaceAllStringFunc(route.template, func(v string) string {
				pattern := accPathVar.FindStringSubmatch(v)[3]
				if n := real[pattern]; useReal && n != "" {
					return n
				}
				if pattern == "" {
					return "ghost"
				}
				return strings.NewReplacer("**", "ghost", "*", "ghost").Replace(pattern)
			})
			if methods[route.verb+path] {
				continue
			}
			methods[route.verb+path] = true
			body := []byte("{}")
			if route.body == "" {
				body = nil
			}
			f.Add(uint8(verb), strings.TrimPrefix(path, "/"), "", body)
			f.Add(uint8(verb), strings.TrimPrefix(path, "/"), "pageSize=-1&filter=state%3D%3D&updateMask=nope&requestId=%00", []byte(`{"name":"../","etag":"x","title":1e999}`))
		}
	}
	f.Add(uint8(0), "v1/tickets", "filter=create_time>\"0000-01-01T00:00:00Z\"&orderBy=create_time desc desc&pageToken=AQ", []byte(nil))
	f.Add(uint8(1), "v1/tickets", "", []byte(`{"customer":"customers/\u0000","type":999,"channel":"TELEPORT","title":"`+strings.Repeat("x", 300)+`"}`))
	f.Add(uint8(2), "v1/tickets/x", "update_mask=title,,name.first", []byte(`{"title":null,"feeQuote":{"labor":{"minorUnits":"-9223372036854775809"}}}`))
	f.Add(uint8(1), "v1/tickets/%ff:cancel", "", []byte(`{"reason":"\udfff"}`))
	f.Add(uint8(0), "v1/tickets/\xff", "filter=title%3D%22%ff%22", []byte(nil))
	f.Add(uint8(0), "v1/customers/-/products", "pageSize=2147483648", []byte(nil))
	f.Add(uint8(1), "v1/apiKeys", "", []byte(`{"serviceRole":"AGENT","expireTime":"10000-01-01T00:00:00Z"}`))
	f.Add(uint8(3), "v1/webhooks/x", "", []byte(nil))
	f.Add(uint8(4), "v1/tickets", "", []byte(`[`))

	f.Fuzz(func(t *testing.T, verb uint8, path, query string, body []byte) {
		u := &url.URL{Path: "/" + path, RawQuery: escapeControls(query)}
		var b any
		if len(body) > 0 {
			b = body
		}
		r, err := hostileDo(e, fuzzVerbs[int(verb)%len(fuzzVerbs)], u, admin, b)
		if err != nil {
			t.Fatalf("%s %s: %v", fuzzVerbs[int(verb)%len(fuzzVerbs)], u, err)
		}
		if msg := jsonProblem(r, true); msg != "" {
			t.Fatalf("%s %s %q: %s", fuzzVerbs[int(verb)%len(fuzzVerbs)], u, body, msg)
		}
	})
}

// escapeControls percent-encodes the bytes an HTTP request line cannot
// carry, so that the rest of a fuzzed query string (malformed escapes
// included) reaches the server as it is.
func escapeControls(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
