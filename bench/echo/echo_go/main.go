// Echo benchmark peer: Go's net package (see bench/run_echo.py).
//
// Usage: echo_go PORT      (listens on 127.0.0.1:PORT; prints nothing; SIGTERM ends it)
//
// A goroutine per connection reads up to 64 KiB and writes it back (Write handles
// partial writes). GOMAXPROCS is forced to 1 so that, like the other servers, one OS
// thread runs the goroutines. Go sets TCP_NODELAY on every TCP connection.
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF, or the client went away
		}
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: echo_go PORT")
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_go: bad port:", os.Args[1])
		os.Exit(2)
	}
	// Many idle connections (run_echo.py --idle): take the hard limit on descriptors
	// (Go 1.19's os package does this too; explicit, as in the other servers).
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_go:", err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo_go: accept:", err)
			continue
		}
		go echo(c)
	}
}
