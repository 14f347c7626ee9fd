package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

// cmdWait waits until the server started with --grpc-addr and
// --http-addr 127.0.0.1:0 logs its "serving" line, prints the addresses
// it picked as shell assignments, and waits until /readyz answers 200.
func cmdWait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	logPath := fs.String("log", "", "the server's log (its stderr)")
	pid := fs.Int("pid", 0, "the server's pid: fail at once if it exits")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	var grpcAddr, httpAddr string
	for grpcAddr == "" {
		if time.Now().After(deadline) {
			return errors.New(`the server did not log its "serving" line in time (it must log at info level or below); see its log`)
		}
		if *pid > 0 {
			if _, err := os.Stat("/proc/" + strconv.Itoa(*pid)); err != nil {
				return errors.New("the server exited; see its log")
			}
		}
		grpcAddr, httpAddr = servingAddrs(*logPath)
		if grpcAddr == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/readyz did not answer 200 in time (last error: %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("grpc_addr=%s\nhttp_addr=%s\n", grpcAddr, httpAddr)
	return nil
}

// servingAddrs finds the "serving" line of a JSON log.
func servingAddrs(path string) (grpcAddr, httpAddr string) {
	fh, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg  string `json:"msg"`
			GRPC string `json:"grpc_addr"`
			HTTP string `json:"http_addr"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "serving" && l.GRPC != "" {
			return l.GRPC, l.HTTP
		}
	}
	return "", ""
}
