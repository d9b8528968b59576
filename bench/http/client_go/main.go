// HTTP client benchmark, the Go side (bench/run_http_client.py): one net/http Client,
// GOMAXPROCS=1 (set by the runner), with the same two modes and JSON line as the others:
//
//	client_go URL CONCURRENCY SECONDS   goroutines fetching URL in a loop
//	client_go crawl URL N LIMIT         N distinct URLs (URL?i=0..N-1), at most LIMIT at once
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func client(conns int) *http.Client {
	t := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	return &http.Client{Transport: t}
}

func fetch(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return err == nil && resp.StatusCode == 200 && len(body) > 0
}

func report(requests, errors int64, seconds float64) {
	out, _ := json.Marshal(map[string]any{"requests": requests, "errors": errors, "seconds": seconds})
	fmt.Println(string(out))
}

func main() {
	if len(os.Args) == 5 && os.Args[1] == "crawl" {
		url := os.Args[2]
		n, _ := strconv.Atoi(os.Args[3])
		limit, _ := strconv.Atoi(os.Args[4])
		c := client(limit)
		var ok, bad int64
		slots := make(chan struct{}, limit)
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; i < n; i++ {
			wg.Add(1)
			slots <- struct{}{}
			go func(i int) {
				defer wg.Done()
				if fetch(c, url+"?i="+strconv.Itoa(i)) {
					atomic.AddInt64(&ok, 1)
				} else {
					atomic.AddInt64(&bad, 1)
				}
				<-slots
			}(i)
		}
		wg.Wait()
		report(ok, bad, time.Since(start).Seconds())
		return
	}
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: client_go URL CONCURRENCY SECONDS | client_go crawl URL N LIMIT")
		os.Exit(2)
	}
	url := os.Args[1]
	conc, _ := strconv.Atoi(os.Args[2])
	secs, _ := strconv.ParseFloat(os.Args[3], 64)
	c := client(conc)
	var ok, bad int64
	start := time.Now()
	until := start.Add(time.Duration(secs * float64(time.Second)))
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(until) {
				if fetch(c, url) {
					atomic.AddInt64(&ok, 1)
				} else {
					atomic.AddInt64(&bad, 1)
				}
			}
		}()
	}
	wg.Wait()
	report(ok, bad, time.Since(start).Seconds())
}
