package app

import (
	"github.com/carepost/carepost/internal/contact"
)

// openContacts builds the contact service on the sending pipeline's shared
// parts (group commit and the blind index, which delivery's suppressions
// share). Its import workers join the job client in newJobs; the client is
// bound once it exists.
func (a *App) openContacts() {
	a.Contacts = contact.New(contact.Deps{DB: a.DB, Keys: a.Keys, Index: a.Index, Audit: a.Audit, Committer: a.Committer},
		contact.Options{Clock: a.Clock, Log: a.Log.With("component", "contact")})
}
