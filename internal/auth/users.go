package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// User is a person who signs in to an organization.
type User struct {
	ID, OrgID, Email, Name, Status string
	Roles                          []string
	MFA                            MFAStatus
	MustChangePassword             bool
	CreatedAt, LastLoginAt         time.Time
}

// MFAStatus says which second factors a user has.
type MFAStatus struct {
	TOTP              bool
	Passkeys          int
	RecoveryCodesLeft int
}

// Enrolled reports whether the user has a second factor to sign in with.
func (m MFAStatus) Enrolled() bool { return m.TOTP || m.Passkeys > 0 }

// NewUser is a user to create. Roles are built-in role names or custom
// role ids.
type NewUser struct {
	Email, Name string
	Roles       []string
}

func userFromRow(r store.UserRow, roles []string, c store.MFACounts) User {
	return User{ID: r.ID, OrgID: r.OrgID, Email: r.Email, Name: r.Name, Status: r.Status,
		Roles: slices.Clone(roles), MustChangePassword: r.MustChangePassword,
		MFA:       MFAStatus{TOTP: totpConfirmed(r), Passkeys: c.Passkeys, RecoveryCodesLeft: c.RecoveryCodes},
		CreatedAt: r.CreatedAt, LastLoginAt: r.LastLoginAt}
}

func totpConfirmed(r store.UserRow) bool { return r.TOTPSecret != nil && !r.TOTPConfirmedAt.IsZero() }

// userView reads a user of orgID with roles and second-factor counts.
func userView(ctx context.Context, q store.Querier, orgID, userID string) (User, store.UserRow, error) {
	row, err := store.GetUser(ctx, q, orgID, userID)
	if err != nil {
		return User{}, store.UserRow{}, err
	}
	roles, err := store.UserRoles(ctx, q, orgID, userID)
	if err != nil {
		return User{}, store.UserRow{}, err
	}
	var c store.MFACounts
	if c.Passkeys, err = store.CountWebAuthnCredentials(ctx, q, userID); err != nil {
		return User{}, store.UserRow{}, err
	}
	if c.RecoveryCodes, err = store.CountRecoveryCodes(ctx, q, userID); err != nil {
		return User{}, store.UserRow{}, err
	}
	return userFromRow(row, roles, c), row, nil
}

// preparedUser is a validated NewUser with its one-time password hashed,
// ready to insert (hashing is slow, so it happens outside the transaction).
type preparedUser struct {
	email, emailKey, name string
	roles                 []string
	oneTime, hash         string
}

func (s *Service) prepareUser(ctx context.Context, in NewUser) (preparedUser, error) {
	email, key, err := cleanEmail(in.Email)
	if err != nil {
		return preparedUser{}, err
	}
	name, err := cleanText("name", in.Name, 200)
	if err != nil {
		return preparedUser{}, err
	}
	if len(in.Roles) == 0 {
		return preparedUser{}, inputErr("roles", "give the user at least one role")
	}
	oneTime := newOneTimePassword()
	hash, err := s.opts.Hasher.Hash(ctx, oneTime)
	if err != nil {
		return preparedUser{}, err
	}
	return preparedUser{email: email, emailKey: key, name: name, roles: in.Roles, oneTime: oneTime, hash: hash}, nil
}

// insertUser adds a prepared user to m's organization inside tx.
func (s *Service) insertUser(ctx context.Context, tx *store.Tx, m manager, u preparedUser) (User, error) {
	org, err := store.GetOrganization(ctx, tx, m.orgID)
	if err != nil {
		return User{}, err
	}
	if org.Status != store.OrgActive {
		return User{}, ErrDisabled
	}
	perms, roles, err := resolveRoles(ctx, tx, m.orgID, u.roles)
	if err != nil {
		return User{}, err
	}
	if !m.covers(perms) {
		return User{}, ErrForbidden
	}
	handle := make([]byte, 32) // WebAuthn user handle: random, no personal data
	if _, err := rand.Read(handle); err != nil {
		return User{}, err
	}
	now := s.now()
	row := store.UserRow{ID: id.New("usr"), OrgID: m.orgID, Email: u.email, EmailKey: u.emailKey, Name: u.name,
		Status: store.UserActive, PasswordHash: u.hash, MustChangePassword: true, PasswordChangedAt: now,
		WebAuthnHandle: handle, CreatedAt: now, UpdatedAt: now}
	if err := store.InsertUser(ctx, tx, row); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Never say why: the address may belong to another organization.
			return User{}, inputErr("email", "this e-mail address cannot be used")
		}
		return User{}, err
	}
	if err := store.SetUserRoles(ctx, tx, m.orgID, row.ID, roles); err != nil {
		return User{}, err
	}
	err = s.record(ctx, tx, audit.Entry{Chain: m.orgID, Actor: m.actor, Action: "user.create",
		TargetType: "user", TargetID: row.ID, Outcome: audit.Success,
		Details: map[string]string{"roles": strings.Join(roles, " ")}})
	if err != nil {
		return User{}, err
	}
	return userFromRow(row, roles, store.MFACounts{}), nil
}

// CreateUser adds a user with a one-time password, returned once, that must
// be changed at first sign-in (users:write). p must hold every permission
// the roles grant.
func (s *Service) CreateUser(ctx context.Context, p Principal, in NewUser) (User, string, error) {
	if err := p.Require(access.UsersWrite); err != nil {
		return User{}, "", err
	}
	prep, err := s.prepareUser(ctx, in)
	if err != nil {
		return User{}, "", err
	}
	var u User
	err = s.tx(ctx, func(tx *store.Tx) error {
		var err error
		u, err = s.insertUser(ctx, tx, managerOf(p), prep)
		return err
	})
	if err != nil {
		return User{}, "", err
	}
	return u, prep.oneTime, nil
}

// GetUser reads a user of p's organization (users:read, or oneself); a user
// of another organization is store.ErrNotFound.
func (s *Service) GetUser(ctx context.Context, p Principal, userID string) (User, error) {
	if userID != p.UserID || p.UserID == "" {
		if err := p.Require(access.UsersRead); err != nil {
			return User{}, err
		}
	}
	u, _, err := userView(ctx, s.reader(), p.OrgID, userID)
	return u, err
}

// ListUsers lists the users of p's organization (users:read).
func (s *Service) ListUsers(ctx context.Context, p Principal) ([]User, error) {
	if err := p.Require(access.UsersRead); err != nil {
		return nil, err
	}
	return s.listUsers(ctx, p.OrgID)
}

func (s *Service) listUsers(ctx context.Context, orgID string) ([]User, error) {
	q := s.reader()
	rows, err := store.ListUsers(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	roles, err := store.OrgUserRoles(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	counts, err := store.OrgMFACounts(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(rows))
	for _, r := range rows {
		out = append(out, userFromRow(r, roles[r.ID], counts[r.ID]))
	}
	return out, nil
}

// cleanText trims s and checks it is 1 to max characters without control
// characters. Messages name the field, never the value.
func cleanText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", inputErr(field, "is required")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", inputErr(field, "must be at most "+strconv.Itoa(max)+" characters")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", inputErr(field, "must not contain control characters")
	}
	return s, nil
}

// cleanEmail checks a staff sign-in address (RFC 5322 addr-spec, no display
// name) and returns it with its lower-cased key.
func cleanEmail(s string) (string, string, error) {
	s = strings.TrimSpace(s)
	bad := inputErr("email", "enter an e-mail address like name@example.org")
	if s == "" || len(s) > 254 {
		return "", "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, " \t<>") {
		return "", "", bad
	}
	return s, emailKey(s), nil
}

// emailKey is the form sign-in looks addresses up by.
func emailKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// crockford is Crockford's base32 alphabet, lower case: no i, l, o or u,
// so nothing reads as another character; 32 symbols, 5 bits each.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// newOneTimePassword returns 20 random characters (100 bits) in groups of
// five: handed over once, changed at first sign-in.
func newOneTimePassword() string {
	r := randomString(crockford, 20)
	return r[0:5] + "-" + r[5:10] + "-" + r[10:15] + "-" + r[15:20]
}
