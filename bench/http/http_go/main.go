// HTTP benchmark peer: Go's net/http (see bench/run_http.py).
//
// Usage: http_go [PORT]   (PORT defaults to $PORT; listens on 127.0.0.1:PORT; prints
// nothing; SIGTERM ends it)
//
//	GET /plaintext -> "Hello, World!"               (text/plain)
//	GET /json      -> {"message":"Hello, World!"}   (application/json, encoded per request)
//
// GOMAXPROCS is forced to 1 so that one OS thread runs the goroutines, as the other
// servers run one event loop. net/http adds Date and Content-Length itself; it sends no
// Server header unless told, so the handlers add one (every other peer sends one).
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
)

var helloWorld = []byte("Hello, World!")

type message struct {
	Message string `json:"message"`
}

func plaintext(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Server", "Go")
	h.Set("Content-Type", "text/plain")
	w.Write(helloWorld)
}

func jsonHandler(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(message{Message: "Hello, World!"})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Server", "Go")
	h.Set("Content-Type", "application/json")
	w.Write(body)
}

func main() {
	runtime.GOMAXPROCS(1)
	arg := os.Getenv("PORT")
	if len(os.Args) == 2 {
		arg = os.Args[1]
	}
	port, err := strconv.Atoi(arg)
	if len(os.Args) > 2 || err != nil || port <= 0 {
		fmt.Fprintln(os.Stderr, "usage: http_go PORT (or PORT in the environment)")
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", plaintext)
	mux.HandleFunc("/json", jsonHandler)
	ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "http_go:", err)
		os.Exit(1)
	}
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "http_go:", err)
		os.Exit(1)
	}
}
