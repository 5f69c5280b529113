package app

import (
	"strings"

	"github.com/carepost/carepost/internal/auth"
)

// The settings of sign-in that follow from where people reach carepost:
// passkeys are bound to the public URL's host (or auth.webauthn_rp_id) and
// accepted only from its origin; SSO providers send people back to
// <http.public_url>/login/sso/callback.

// passkeyOptions are the WebAuthn relying party settings: none when the
// public URL names an IP address, which cannot be an RP ID.
func (a *App) passkeyOptions() auth.WebAuthnOptions {
	o := auth.WebAuthnOptions{RPID: a.Config.PasskeyRPID(), RPName: "carepost"}
	if origin := a.Config.PublicOrigin(); o.RPID != "" && origin != "" {
		o.Origins = []string{origin}
	}
	return o
}

// oidcOptions are the SSO settings: the callback URL providers are
// configured with. Providers are reached with the system's roots.
func (a *App) oidcOptions() auth.OIDCOptions {
	base := strings.TrimSuffix(a.Config.HTTP.PublicURL, "/")
	if base == "" {
		return auth.OIDCOptions{}
	}
	return auth.OIDCOptions{RedirectURL: base + "/login/sso/callback"}
}

// noteFederation says at start-up why passkeys are off, when they are.
func (a *App) noteFederation() {
	if !a.Auth.PasskeysAvailable() {
		a.Log.Info("passkeys are off: http.public_url names an IP address; set a domain name (or auth.webauthn_rp_id) to offer them",
			"public_url", a.Config.HTTP.PublicURL)
	}
}
