package delivery_test

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestScratchSubmitRate(t *testing.T) {
	w := newWorld(t)
	mx := w.verifiedDomain("dest.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx), DiscardData: true})
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(t, sink.Addr()),
		edit: func(c *config.Config) { c.Delivery.ConnectionsPerDomain, c.Jobs.Workers = 20, 40 }})
	for _, dom := range []string{"nowhere.test", "dest.test"} {
		var mu sync.Mutex
		var lat []time.Duration
		start := time.Now()
		next := make(chan int)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for i := range next {
					s := time.Now()
					n.submit("body", []string{rcpt("p"+string(rune('a'+i%26)), dom)}, nil)
					mu.Lock()
					lat = append(lat, time.Since(s))
					mu.Unlock()
				}
			})
		}
		for i := 0; i < 1000; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		el := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("%s: %.0f/s p50 %v p99 %v", dom, 1000/el.Seconds(), lat[500], lat[990])
	}
	sink.WaitFor(1000, time.Minute)
}
