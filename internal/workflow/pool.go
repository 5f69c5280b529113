package workflow

import "sync"

// pool runs a parallel batch's message composition. Handing it work never
// blocks: the engine queues a send's composition and goes straight on with
// the batch's other runs, while up to max workers take the queue in order.
// When the engine needs the results (join) it takes queued work itself
// instead of waiting, so on two cores the engine and one worker share the
// tail of the queue rather than the engine idling behind a semaphore.
//
// Workers start on demand and end when the queue is empty, so a batch
// without sends starts none, and none outlives the batch: finish waits for
// every task taken and drops what was never taken.
type pool struct {
	max int

	mu      sync.Mutex
	queue   []func()
	workers int // running worker goroutines

	pending sync.WaitGroup // tasks queued and not yet finished
	alive   sync.WaitGroup // worker goroutines not yet returned
}

func newPool(workers int) *pool { return &pool{max: workers} }

// submit queues f and starts a worker when fewer than max are running.
func (p *pool) submit(f func()) {
	p.pending.Add(1)
	p.mu.Lock()
	p.queue = append(p.queue, f)
	start := p.workers < p.max
	if start {
		p.workers++
		p.alive.Add(1)
	}
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

// take pops the oldest queued task; a worker that finds the queue empty
// stops, under the same lock, so submit always sees the right count.
func (p *pool) take(worker bool) (func(), bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		if worker {
			p.workers--
		}
		return nil, false
	}
	f := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return f, true
}

func (p *pool) work() {
	defer p.alive.Done()
	p.run(true)
}

// run takes and runs queued tasks until none is left.
func (p *pool) run(worker bool) {
	for {
		f, ok := p.take(worker)
		if !ok {
			return
		}
		f()
		p.pending.Done()
	}
}

// wait runs queued tasks on the caller's goroutine until none is left,
// then waits for those the workers are running and for the workers to
// return.
func (p *pool) wait() {
	p.run(false)
	p.pending.Wait()
	p.alive.Wait()
}

// finish drops the tasks nobody took and waits for the running ones: the
// batch is over, whether it committed or not.
func (p *pool) finish() {
	p.mu.Lock()
	dropped := len(p.queue)
	p.queue = nil
	p.mu.Unlock()
	p.pending.Add(-dropped)
	p.pending.Wait()
	p.alive.Wait()
}
