// Package demo is demo mode's capture inbox: with demo.enabled (`carepost
// serve --demo`) the delivery workers hand every recipient's message to
// CaptureTx instead of an MX host, and GET /demo/inbox shows the captures
// to signed-in users of the sending organization, so a new installation
// shows the whole flow — submission, policy, queue, DKIM, receipt,
// events — with no network.
//
// Demo mode must never be on in production: mail "delivers" without
// leaving the machine. The server logs a warning at start when it is.
//
// Captures are what would have been sent (DKIM-signed, one per recipient)
// and are sealed with the keyring like message content, bound to
// (organization, demo_messages, content, capture id). Showing a capture is
// a read of message content by a person, so it takes a session, follows the
// message visibility rules (package access: one's own messages, or
// messages:read_all) and is audited.
package demo

import (
	"context"
	"fmt"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webauth"
)

// Deps are what the inbox uses. WebAuth is needed only for the pages.
type Deps struct {
	DB      *store.DB
	Keys    *keyring.Keyring
	Audit   *audit.Log
	WebAuth *webauth.Authenticator
}

// Inbox captures messages and shows them.
type Inbox struct {
	deps Deps
}

var _ delivery.Capture = (*Inbox)(nil)

// New builds the inbox.
func New(deps Deps) *Inbox { return &Inbox{deps: deps} }

// ContentAAD names the sealed content of a capture.
func ContentAAD(orgID, captureID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "demo_messages", Column: "content", RowID: captureID}
}

// CaptureTx stores one recipient's message, sealed, in the delivery
// transaction that marks the recipient delivered.
func (in *Inbox) CaptureTx(ctx context.Context, tx *store.Tx, c delivery.Captured) error {
	capID := id.NewAt("dmo", c.At)
	sealed, ver, err := in.deps.Keys.Seal(ctx, tx, ContentAAD(c.OrgID, capID), c.Content)
	if err != nil {
		return fmt.Errorf("seal demo capture: %w", err)
	}
	return store.InsertDemoMessage(ctx, tx, store.DemoMessageRow{ID: capID, OrgID: c.OrgID, MessageID: c.MessageID,
		RecipientID: c.RecipientID, Content: sealed, DEKVersion: ver, ReceivedAt: c.At})
}
