-- The recipient key directory (package keydir, docs/E2E.md): OpenPGP keys
-- and S/MIME certificates an organization encrypts to. A public key is not
-- secret, but its binding to an address is PHI-adjacent (that a patient
-- has a key, and which address is theirs), and both a key's user IDs and a
-- certificate's names carry the address. So the key material and the
-- addresses bound to it are sealed together in content; addresses are
-- found by keyed blind index (package blindindex) and keys are told apart
-- by a blind index of their fingerprint (a fingerprint can be looked up on
-- a public key server). In clear: the kind, the algorithm and the key's
-- validity period, which identify no one.

CREATE TABLE recipient_keys (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    kind              TEXT NOT NULL CHECK (kind IN ('pgp', 'smime')),
    fingerprint_index BLOB NOT NULL,
    algorithm         TEXT NOT NULL,
    key_created_at    INTEGER NOT NULL,
    -- 0: does not expire
    expires_at        INTEGER NOT NULL,
    content           BLOB NOT NULL,
    dek_version       INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX recipient_keys_fingerprint ON recipient_keys (org_id, fingerprint_index);
CREATE INDEX recipient_keys_dek ON recipient_keys (org_id, dek_version);

CREATE TABLE recipient_key_addresses (
    key_id        TEXT NOT NULL REFERENCES recipient_keys (id),
    org_id        TEXT NOT NULL,
    address_index BLOB NOT NULL,
    PRIMARY KEY (key_id, address_index)
);
CREATE INDEX recipient_key_addresses_lookup ON recipient_key_addresses (org_id, address_index);
