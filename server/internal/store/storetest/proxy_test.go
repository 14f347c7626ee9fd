package storetest_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// echoServer accepts connections and echoes lines back until the test
// ends.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, msg string) (string, error) {
	t.Helper()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyStopAndStart(t *testing.T) {
	proxy := storetest.NewTCPProxy(t, echoServer(t))
	addr := proxy.Addr()

	live, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer live.Close()
	got, err := roundTrip(t, live, "hello")
	require.NoError(t, err)
	require.Equal(t, "hello\n", got)

	proxy.Stop()
	_, err = roundTrip(t, live, "after stop")
	require.Error(t, err, "live connections are dropped")
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "new connections are refused")
	proxy.Stop() // idempotent

	proxy.Start()
	require.Equal(t, addr, proxy.Addr())
	again, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer again.Close()
	got, err = roundTrip(t, again, "back")
	require.NoError(t, err)
	require.Equal(t, "back\n", got)
	proxy.Start() // idempotent
}
