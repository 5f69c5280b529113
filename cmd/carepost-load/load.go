package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/smtp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// body is about size bytes of plain text, the same for every message.
func body(size int) string {
	const line = "Your appointment is confirmed. Please bring your insurance card and arrive ten minutes early.\n"
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()[:size]
}

type result struct {
	accepted  int64
	elapsed   time.Duration
	latencies []time.Duration
	errors    int64
	firstErr  string
}

func (r *result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

// runAPI posts single-recipient messages from c concurrent clients until n
// are accepted (202: durably committed).
func runAPI(ctx context.Context, s *server, n, c, size int) *result {
	msg := body(size)
	var next atomic.Int64
	res := &result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				req := map[string]any{"from": "noreply@sender.test", "to": []string{fmt.Sprintf("patient%d@%s", i, destDomain)},
					"subject": "Appointment confirmed", "text": msg}
				t0 := time.Now()
				_, err := s.api(ctx, "POST", "/messages", req, nil)
				local = append(local, time.Since(t0))
				if err != nil {
					mu.Lock()
					res.errors++
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				atomic.AddInt64(&res.accepted, 1)
			}
			mu.Lock()
			res.latencies = append(res.latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// runSMTP submits over SMTP with STARTTLS and AUTH PLAIN (the API key as
// password), c sessions each sending many messages over one connection.
func runSMTP(ctx context.Context, s *server, n, c, size int) *result {
	msg := body(size)
	var next atomic.Int64
	res := &result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	fail := func(err error) {
		mu.Lock()
		res.errors++
		if res.firstErr == "" {
			res.firstErr = err.Error()
		}
		mu.Unlock()
	}
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := smtp.Dial(s.smtpAddr)
			if err != nil {
				fail(err)
				return
			}
			defer cl.Close()
			if err := cl.StartTLS(&tls.Config{InsecureSkipVerify: true, ServerName: "127.0.0.1"}); err != nil { // self-signed development certificate
				fail(err)
				return
			}
			if err := cl.Auth(smtp.PlainAuth("", "load", s.key, "127.0.0.1")); err != nil {
				fail(err)
				return
			}
			var local []time.Duration
			for {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				rcpt := fmt.Sprintf("patient%d@%s", i, destDomain)
				t0 := time.Now()
				err := sendOne(cl, rcpt, msg)
				local = append(local, time.Since(t0))
				if err != nil {
					fail(err)
					_ = cl.Reset()
					continue
				}
				atomic.AddInt64(&res.accepted, 1)
			}
			_ = cl.Quit()
			mu.Lock()
			res.latencies = append(res.latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func sendOne(cl *smtp.Client, rcpt, text string) error {
	if err := cl.Mail("noreply@sender.test"); err != nil {
		return err
	}
	if err := cl.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: noreply@sender.test\r\nTo: %s\r\nSubject: Appointment confirmed\r\n\r\n%s\r\n",
		rcpt, strings.ReplaceAll(text, "\n", "\r\n"))
	return w.Close()
}
