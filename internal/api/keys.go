package api

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/webauth"
)

// The recipient key directory and the organization's signing keys
// (package keydir, docs/E2E.md).

type recipientKeyView struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Fingerprint string     `json:"fingerprint"`
	Emails      []string   `json:"emails"`
	Algorithm   string     `json:"algorithm"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	Status      string     `json:"status"`
	Problem     string     `json:"problem,omitempty"`
	AddedAt     time.Time  `json:"added_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func viewRecipientKey(e keydir.Entry) recipientKeyView {
	return recipientKeyView{ID: e.ID, Kind: e.Kind, Fingerprint: e.Fingerprint, Emails: nonNil(e.Emails), Algorithm: e.Algorithm,
		CreatedAt: e.Created, ExpiresAt: timePtr(e.Expires), Status: e.Status, Problem: e.Problem, AddedAt: e.AddedAt, UpdatedAt: e.UpdatedAt}
}

type keyInput struct {
	Key   string `json:"key"`
	Email string `json:"email"`
}

func (s *Server) addRecipientKey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in keyInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.deps.Keydir.Add(r.Context(), keydir.As(id.Principal), []byte(in.Key), in.Email)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewRecipientKey(e))
}

func (s *Server) listRecipientKeys(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	l, err := s.deps.Keydir.List(r.Context(), keydir.As(id.Principal), r.URL.Query().Get("email"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]recipientKeyView, 0, len(l))
	for _, e := range l {
		out = append(out, viewRecipientKey(e))
	}
	s.ok(w, 0, map[string]any{"keys": out})
}

func (s *Server) getRecipientKey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	e, err := s.deps.Keydir.Get(r.Context(), keydir.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewRecipientKey(e))
}

func (s *Server) deleteRecipientKey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Keydir.Delete(r.Context(), keydir.As(id.Principal), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type signingKeysView struct {
	OpenPGP *openPGPSignerView `json:"openpgp"`
	SMIME   *smimeSignerView   `json:"smime"`
}

type openPGPSignerView struct {
	Fingerprint string    `json:"fingerprint"`
	PublicKey   string    `json:"public_key"`
	CreatedAt   time.Time `json:"created_at"`
}

type smimeSignerView struct {
	Certificate string    `json:"certificate"`
	Emails      []string  `json:"emails"`
	NotAfter    time.Time `json:"not_after"`
}

func viewSigningKeys(k keydir.SigningKeys) signingKeysView {
	var v signingKeysView
	if k.OpenPGP != nil {
		v.OpenPGP = &openPGPSignerView{Fingerprint: k.OpenPGP.Fingerprint, PublicKey: k.OpenPGP.Armored, CreatedAt: k.OpenPGP.Created}
	}
	if k.SMIME != nil {
		v.SMIME = &smimeSignerView{Certificate: k.SMIME.Chain, Emails: nonNil(k.SMIME.Emails), NotAfter: k.SMIME.NotAfter}
	}
	return v
}

func (s *Server) getSigningKeys(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	k, err := s.deps.Keydir.SigningKeys(r.Context(), keydir.As(id.Principal))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewSigningKeys(k))
}

func (s *Server) generateOpenPGPSigner(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	k, err := s.deps.Keydir.GenerateOpenPGPSigningKey(r.Context(), keydir.As(id.Principal))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewSigningKeys(k))
}

type smimeSignerInput struct {
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"private_key"`
}

func (s *Server) setSMIMESigner(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in smimeSignerInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := s.deps.Keydir.SetSMIMESigner(r.Context(), keydir.As(id.Principal), []byte(in.Certificate), []byte(in.PrivateKey))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewSigningKeys(k))
}

func (s *Server) deleteSigner(kind string) func(http.ResponseWriter, *http.Request, webauth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
		if err := s.deps.Keydir.DeleteSigningKey(r.Context(), keydir.As(id.Principal), kind); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// keyRoutes are the directory's endpoints, appended to the route table.
func (s *Server) keyRoutes() []Route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	const perm = access.PolicyWrite
	return []Route{
		{Method: post, Path: "/keys", Tag: "keys", Perm: perm, Summary: "Add a recipient's OpenPGP public key (armored) or S/MIME certificate chain (PEM); checked now and at every use; a key already present is replaced", Request: "RecipientKeyInput", Response: "RecipientKey", Status: http.StatusCreated, handler: s.addRecipientKey},
		{Method: get, Path: "/keys", Tag: "keys", Perm: perm, Summary: "The recipient key directory, newest first (email=<address> for one recipient; addresses masked without phi:read)", Response: "RecipientKeyList", handler: s.listRecipientKeys},
		{Method: get, Path: "/keys/{id}", Tag: "keys", Tenant: true, Perm: perm, Summary: "A recipient key, with its status now (valid, expired, revoked, invalid)", Response: "RecipientKey", handler: s.getRecipientKey},
		{Method: del, Path: "/keys/{id}", Tag: "keys", Tenant: true, Perm: perm, Summary: "Remove a recipient key (audited)", Status: http.StatusNoContent, handler: s.deleteRecipientKey},
		{Method: get, Path: "/signing-keys", Tag: "keys", Summary: "The organization's public signing keys, to publish: OpenPGP key and S/MIME certificate", Response: "SigningKeys", handler: s.getSigningKeys},
		{Method: post, Path: "/signing-keys/openpgp", Tag: "keys", Perm: perm, Summary: "Generate (or replace) the organization's OpenPGP signing key; PGP/MIME mail is signed from then on", Response: "SigningKeys", Status: http.StatusCreated, handler: s.generateOpenPGPSigner},
		{Method: put, Path: "/signing-keys/smime", Tag: "keys", Perm: perm, Summary: "Set the organization's S/MIME signing certificate and key (PEM; sealed); S/MIME mail is signed from then on", Request: "SMIMESignerInput", Response: "SigningKeys", handler: s.setSMIMESigner},
		{Method: del, Path: "/signing-keys/openpgp", Tag: "keys", Perm: perm, Summary: "Remove the organization's OpenPGP signing key; PGP/MIME mail is no longer signed", Status: http.StatusNoContent, handler: s.deleteSigner(keydir.KindPGP)},
		{Method: del, Path: "/signing-keys/smime", Tag: "keys", Perm: perm, Summary: "Remove the organization's S/MIME signing certificate; S/MIME mail is no longer signed", Status: http.StatusNoContent, handler: s.deleteSigner(keydir.KindSMIME)},
	}
}

// keySchemas are the OpenAPI schemas of keyRoutes.
func keySchemas() schema {
	return schema{
		"RecipientKeyInput": obj([]string{"key"}, schema{"key": str("ASCII-armored OpenPGP public key, or PEM certificate chain (recipient's certificate first)"),
			"email": str("bind only this address; default every address the key names that passes the checks")}),
		"RecipientKey": obj(nil, schema{"id": str(""), "kind": schema{"type": "string", "enum": []string{keydir.KindPGP, keydir.KindSMIME}},
			"fingerprint": str("OpenPGP fingerprint, or SHA-256 of the certificate"), "emails": list(str("bound addresses (masked without phi:read)")),
			"algorithm": str("encryption key algorithm"), "created_at": at("key creation or certificate notBefore"), "expires_at": when("null: never"),
			"status":  schema{"type": "string", "enum": []string{keydir.StatusValid, keydir.StatusExpired, keydir.StatusRevoked, keydir.StatusInvalid}},
			"problem": str("why the key is not used, when it is not"), "added_at": at(""), "updated_at": at("")}),
		"RecipientKeyList": obj(nil, schema{"keys": list(ref("RecipientKey"))}),
		"SigningKeys": obj(nil, schema{
			"openpgp": schema{"type": []string{"object", "null"}, "properties": schema{"fingerprint": str(""), "public_key": str("ASCII-armored public key"), "created_at": at("")}},
			"smime":   schema{"type": []string{"object", "null"}, "properties": schema{"certificate": str("PEM chain"), "emails": list(str("")), "not_after": at("")}}}),
		"SMIMESignerInput": obj([]string{"certificate", "private_key"}, schema{"certificate": str("PEM chain, signing certificate first (e-mail protection)"),
			"private_key": str("PEM private key of the certificate (PKCS #8, PKCS #1 or SEC 1); stored sealed, never shown again")}),
	}
}
