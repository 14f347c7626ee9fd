// Package web serves the web console: the single-page app built from this
// directory's sources (scripts/web-build.sh) into dist/, embedded in the
// binary so that the server needs no Node or files beside it.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
)

//go:embed all:dist
var dist embed.FS

// FS is the built console: index.html and assets/.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded; it cannot be missing
	}
	return sub
}

// Register adds the console's routes to mux: GET / (index.html, never
// cached, so a new build is picked up at once) and GET /assets/… (content-
// hashed file names, cached for a year). Other paths are left to mux's
// other routes. The console routes with the URL fragment (#/queue), so it
// needs no fallback for deep links. Assets are gzipped for clients that
// accept it: the chart library is 547 kB as built and 185 kB gzipped,
// which is what a tablet on a shop's network waits for on a first load;
// browsers keep them for a year, so each client costs one compression.
func Register(mux *http.ServeMux) {
	files := FS()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic(err)
	}
	assets := http.FileServerFS(files)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
	mux.Handle("GET /assets/", gzhttp.GzipHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		setSecurityHeaders(w)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		assets.ServeHTTP(w, r)
	})))
}

// setSecurityHeaders keeps the console's pages to their own origin: no
// framing, no inline or foreign scripts, and no referrer leaking the
// fragment's route.
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
