package app_test

import (
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/web"
)

// The web console is served at / and /assets/…, and every other path
// still reaches the operational endpoints and the JSON gateway.
func TestServesWebConsole(t *testing.T) {
	ta := start(t, nil)

	resp, err := http.Get(ta.baseURL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	code, body := ta.get(t, "/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `<div id="app">`)

	js, err := fs.Glob(web.FS(), "assets/*.js")
	require.NoError(t, err)
	require.NotEmpty(t, js, "built console in server/web/dist")
	resp, err = http.Get(ta.baseURL + "/" + js[0])
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	require.Contains(t, resp.Header.Get("Cache-Control"), "immutable")

	code, body = ta.get(t, "/healthz")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, body)

	// The API still answers /v1/… (without credentials, 401 as a
	// google.rpc.Status), other methods on / and the gateway's routes.
	code, body = ta.get(t, "/v1/tickets")
	require.Equal(t, http.StatusUnauthorized, code, body)
	require.Contains(t, body, `"reason":"INVALID_CREDENTIALS"`)
	code, body = ta.request(t, http.MethodPost, "/", "{}", http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, body, `"reason":"RESOURCE_NOT_FOUND"`)
	code, body = ta.request(t, http.MethodPost, "/test/echo", `{"staff":{"displayName":"Ada"}}`, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.True(t, strings.Contains(body, "Ada"))
}
