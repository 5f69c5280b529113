package app

import (
	"net/http"

	"github.com/carepost/carepost/internal/portal"
	"github.com/carepost/carepost/internal/portal/portalweb"
	"github.com/carepost/carepost/internal/store"
)

// openPortal builds the secure portal from [portal] and [http]. Its event
// recorder and outbox are bound once they exist (openMessaging): the
// outbox hands recipients to it.
func (a *App) openPortal() {
	p := a.Config.Portal
	a.Keys.Register(store.PortalItemsTable())
	a.Keys.Register(store.PortalAccountsTable())
	a.Portal = portal.New(portal.Deps{DB: a.DB, Keys: a.Keys, Index: a.Index, Audit: a.Audit},
		portal.Options{Clock: a.Clock, PublicURL: a.Config.HTTP.PublicURL, DefaultExpiry: p.DefaultExpiry.Duration(),
			NotificationText: p.NotificationText, NotificationFrom: p.NotificationFrom, CodeLength: p.CodeLength,
			CodeTTL: p.CodeTTL.Duration(), CodeAttempts: p.CodeAttempts, CodesPerHour: p.CodesPerHour, MaxFailures: p.MaxFailures,
			Lockout: p.Lockout.Duration(), SessionIdle: p.SessionIdleTimeout.Duration(), SessionLifetime: p.SessionLifetime.Duration(),
			Logger: a.Log.With("component", "portal")})
}

// mountPortal serves the recipients' pages under /portal/.
func (a *App) mountPortal(mux *http.ServeMux, secure bool) {
	portalweb.New(a.Portal, secure, a.Log.With("component", "portal")).Mount(mux)
}
