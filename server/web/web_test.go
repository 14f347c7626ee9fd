package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRegister(t *testing.T) {
	mux := http.NewServeMux()
	Register(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot) // stands in for the JSON gateway
	})

	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}

	rec := get("/")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<div id="app">`) {
		t.Fatalf("GET / = %d %q, want index.html", rec.Code, rec.Body.String())
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET / Cache-Control = %q, want no-cache", cc)
	}

	assets, err := fs.Glob(FS(), "assets/*.js")
	if err != nil || len(assets) == 0 {
		t.Fatalf("no built JavaScript in dist/assets (%v); run scripts/web-build.sh", err)
	}
	rec = get("/" + assets[0])
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("GET /%s = %d %q", assets[0], rec.Code, rec.Header().Get("Content-Type"))
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("asset Cache-Control = %q, want a long immutable cache", cc)
	}

	// Gzipped for a client that accepts it, and the bytes are the file's.
	req := httptest.NewRequest(http.MethodGet, "/"+assets[0], nil)
	req.Header.Set("Accept-Encoding", "gzip")
	zrec := httptest.NewRecorder()
	mux.ServeHTTP(zrec, req)
	if zrec.Code != http.StatusOK || zrec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET /%s with Accept-Encoding gzip = %d, Content-Encoding %q", assets[0], zrec.Code, zrec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zrec.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, rec.Body.Bytes()) || zrec.Body.Len() >= rec.Body.Len() {
		t.Errorf("gzipped asset: %d bytes unzip to %d, want the %d bytes of the file in fewer", zrec.Body.Len(), len(unzipped), rec.Body.Len())
	}
	if rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("GET without Accept-Encoding is encoded %q", rec.Header().Get("Content-Encoding"))
	}

	for _, p := range []string{"/assets/", "/assets/missing.js"} {
		if rec := get(p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
	for _, p := range []string{"/v1/tickets", "/index.html.x", "/healthz"} {
		if rec := get(p); rec.Code != http.StatusTeapot {
			t.Errorf("GET %s = %d, want the other routes' answer", p, rec.Code)
		}
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("POST / = %d, want the other routes' answer", rec.Code)
	}
}
