// Core-runtime benchmark peer: Go goroutines.
//
// Usage: core_go BENCH N
//   BENCH = task | sleep0 | gather | memory | queue | queue_bounded | lock | lock_contended
//
// Prints exactly one number on stdout (see bench/run_core.py for the
// protocol). GOMAXPROCS is forced to 1 so that, like the other peers, one OS
// thread runs all goroutines.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sink stops the compiler from discarding results.
var sink int

//go:noinline
func trivial() int { return 1 }

// spawnAndWait is the Go analogue of "create a task, await its result": each
// call gets its own result channel, as each asyncio task has its own future.
func spawnAndWait() int {
	ch := make(chan int)
	go func() { ch <- trivial() }()
	return <-ch
}

func benchTask(n int) float64 {
	warm := n / 10
	if warm > 10000 {
		warm = 10000
	}
	sum := 0
	for i := 0; i < warm; i++ {
		sum += spawnAndWait()
	}
	t0 := time.Now() // time.Since uses the monotonic clock reading
	for i := 0; i < n; i++ {
		sum += spawnAndWait()
	}
	elapsed := time.Since(t0)
	sink = sum
	return float64(elapsed.Nanoseconds()) / float64(n)
}

func benchSleep0(n int) float64 {
	var wg sync.WaitGroup
	yielder := func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			runtime.Gosched()
		}
	}
	t0 := time.Now()
	wg.Add(2)
	go yielder()
	go yielder()
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(2*n)
}

func benchGather(n int) float64 {
	samples := make([]float64, 0, 5)
	for rep := 0; rep < 5; rep++ {
		t0 := time.Now()
		// Results are collected like asyncio.gather's result list.
		results := make([]int, n)
		var wg sync.WaitGroup
		wg.Add(n)
		for i := 0; i < n; i++ {
			go func(i int) {
				results[i] = trivial()
				wg.Done()
			}(i)
		}
		wg.Wait()
		samples = append(samples, float64(time.Since(t0).Nanoseconds())/float64(n))
		sink += results[n-1]
	}
	sort.Float64s(samples)
	return samples[len(samples)/2]
}

func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	fields := strings.Fields(string(data))
	resident, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		panic(err)
	}
	return resident * int64(os.Getpagesize())
}

func benchMemory(n int) float64 {
	release := make(chan struct{})
	var started, finished sync.WaitGroup
	runtime.GC()
	before := rssBytes()
	started.Add(n)
	finished.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-release
			finished.Done()
		}()
	}
	// With one P, when the last Done wakes us every other goroutine is
	// already parked on the channel, and the last one parks before we run.
	started.Wait()
	runtime.GC()
	after := rssBytes()
	close(release)
	finished.Wait()
	return float64(after-before) / float64(n)
}

// benchQueue: a channel stands in for the queue; the producer yields after each send so
// that the consumer is parked in the receive whenever an item arrives.
func benchQueue(n int) float64 {
	ch := make(chan int, 1024) // buffered like an unbounded asyncio.Queue in this pattern
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		sum := 0
		for i := 0; i < n; i++ {
			sum += <-ch
		}
		sink = sum
		close(done)
	}()
	for i := 0; i < n; i++ {
		ch <- i
		runtime.Gosched()
	}
	<-done
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// benchQueueBounded: a channel of capacity 1, like asyncio.Queue(maxsize=1).
func benchQueueBounded(n int) float64 {
	ch := make(chan int, 1)
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		sum := 0
		for i := 0; i < n; i++ {
			sum += <-ch
		}
		sink = sum
		close(done)
	}()
	for i := 0; i < n; i++ {
		ch <- i
	}
	<-done
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// benchLock: uncontended sync.Mutex Lock + Unlock.
func benchLock(n int) float64 {
	var mu sync.Mutex
	t0 := time.Now()
	for i := 0; i < n; i++ {
		mu.Lock()
		mu.Unlock()
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// benchLockContended: two goroutines taking turns on a lock. sync.Mutex is not FIFO (the
// goroutine that unlocks re-locks at once while the woken one is still runnable), so it
// would measure no hand-off at all; a channel of capacity 1 used as a lock queues blocked
// senders in FIFO order and hands the lock over on every unlock, like asyncio.Lock.
func benchLockContended(n int) float64 {
	lock := make(chan struct{}, 1)
	var wg sync.WaitGroup
	looper := func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			lock <- struct{}{}
			if i == 0 {
				runtime.Gosched() // once, holding it: the other goroutine queues
			}
			<-lock
		}
	}
	t0 := time.Now()
	wg.Add(2)
	go looper()
	go looper()
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(2*n)
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s task|sleep0|gather|memory|queue|queue_bounded|lock|lock_contended N\n", os.Args[0])
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "N must be a positive integer")
		os.Exit(2)
	}
	var value float64
	switch os.Args[1] {
	case "task":
		value = benchTask(n)
	case "sleep0":
		value = benchSleep0(n)
	case "gather":
		value = benchGather(n)
	case "memory":
		value = benchMemory(n)
	case "queue":
		value = benchQueue(n)
	case "queue_bounded":
		value = benchQueueBounded(n)
	case "lock":
		value = benchLock(n)
	case "lock_contended":
		value = benchLockContended(n)
	default:
		fmt.Fprintf(os.Stderr, "unknown benchmark %q\n", os.Args[1])
		os.Exit(2)
	}
	fmt.Printf("%.3f\n", value)
}
