package workflow

import (
	"sync/atomic"
	"testing"
	"time"
)

// Every queued task runs once, on at most max workers beside the caller,
// and wait returns only when all have finished.
func TestPoolRunsEveryTaskOnce(t *testing.T) {
	p := newPool(2)
	var ran, running, peak atomic.Int64
	const n = 500
	seen := make([]atomic.Int64, n)
	for i := range n {
		p.submit(func() {
			if r := running.Add(1); r > peak.Load() {
				peak.Store(r)
			}
			seen[i].Add(1)
			ran.Add(1)
			running.Add(-1)
		})
	}
	p.wait()
	if ran.Load() != n {
		t.Fatalf("%d tasks ran, want %d", ran.Load(), n)
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("task %d ran %d times", i, seen[i].Load())
		}
	}
	if peak.Load() > 3 { // two workers and the waiting caller
		t.Fatalf("%d tasks ran at once, want at most 3", peak.Load())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.workers != 0 {
		t.Fatalf("%d workers still running after wait", p.workers)
	}
}

// finish drops what no worker took and waits for what one is running.
func TestPoolFinishDropsQueuedTasks(t *testing.T) {
	p := newPool(1)
	release := make(chan struct{})
	started := make(chan struct{})
	var ran atomic.Int64
	p.submit(func() { close(started); <-release; ran.Add(1) })
	<-started
	for range 10 {
		p.submit(func() { ran.Add(1) })
	}
	done := make(chan struct{})
	go func() { p.finish(); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		left := len(p.queue)
		p.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("finish did not drop the queue")
		}
	}
	select {
	case <-done:
		t.Fatal("finish returned while a task was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-done
	if ran.Load() != 1 {
		t.Fatalf("%d tasks ran, want only the one running at finish", ran.Load())
	}
}
