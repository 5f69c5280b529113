package httpserver

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness condition; it returns nil when satisfied.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// MountHealth registers /healthz (the process answers), /readyz (every
// check passes: database reachable, migrations current) and /metrics.
func MountHealth(mux *http.ServeMux, reg *prometheus.Registry, checks []Check) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		status, code := "ready", http.StatusOK
		results := map[string]string{}
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil {
				// The reason is for the operator; checks phrase it without
				// secrets (no DSNs, no keys).
				results[c.Name] = err.Error()
				status, code = "not ready", http.StatusServiceUnavailable
			} else {
				results[c.Name] = "ok"
			}
		}
		WriteJSON(w, code, map[string]any{"status": status, "checks": results})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
}
