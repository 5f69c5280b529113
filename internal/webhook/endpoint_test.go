package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/webhook"
)

func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{})
		ep, secret := e.create(t, orgA, webhook.EndpointInput{
			URL: "https://hooks.example.com/in", Description: "billing system",
			EventTypes: []string{webhook.EventDelivered, webhook.EventBounced, webhook.EventDelivered},
		})
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, webhook.SecretPrefix))
		if !strings.HasPrefix(secret, webhook.SecretPrefix) || err != nil || len(key) != 32 {
			t.Fatalf("secret %q is not whsec_ and base64 of 32 bytes", secret)
		}
		if !ep.Enabled || !slices.Equal(ep.EventTypes, []string{webhook.EventBounced, webhook.EventDelivered}) {
			t.Fatalf("created %+v", ep)
		}
		got, err := e.svc.GetEndpoint(ctx, orgA, ep.ID)
		if err != nil || got.URL != ep.URL || got.Description != "billing system" || !slices.Equal(got.EventTypes, ep.EventTypes) || !got.CreatedAt.Equal(ep.CreatedAt) {
			t.Fatalf("get = %+v, %v; want %+v", got, err, ep)
		}
		var updated webhook.Endpoint
		e.tx(t, func(tx *store.Tx) error {
			updated, err = e.svc.UpdateEndpoint(ctx, tx, orgA, ep.ID, webhook.EndpointInput{URL: "https://other.example.com/in", Disabled: true})
			return err
		})
		if updated.Enabled || updated.URL != "https://other.example.com/in" || len(updated.EventTypes) != 0 {
			t.Fatalf("updated %+v", updated)
		}
		second, _ := e.create(t, orgA, webhook.EndpointInput{URL: "https://hooks.example.com/two"})
		list, err := e.svc.ListEndpoints(ctx, orgA)
		if err != nil || len(list) != 2 || list[0].ID != ep.ID || list[1].ID != second.ID || list[0].Enabled {
			t.Fatalf("list = %+v, %v", list, err)
		}
		e.tx(t, func(tx *store.Tx) error { return e.svc.DeleteEndpoint(ctx, tx, orgA, ep.ID) })
		if _, err := e.svc.GetEndpoint(ctx, orgA, ep.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get after delete: %v, want ErrNotFound", err)
		}
	})
}

func TestEndpointInputIsValidated(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), webhook.Options{})
	for name, in := range map[string]webhook.EndpointInput{
		"http":                   {URL: "http://hooks.example.com/in"},
		"loopback":               {URL: "https://127.0.0.1/in"},
		"metadata":               {URL: "https://169.254.169.254/latest"},
		"user info":              {URL: "https://u:p@hooks.example.com/in"},
		"unknown type":           {URL: "https://hooks.example.com/in", EventTypes: []string{"message.exploded"}},
		"control in description": {URL: "https://hooks.example.com/in", Description: "a\nb"},
		"long description":       {URL: "https://hooks.example.com/in", Description: strings.Repeat("x", webhook.MaxDescriptionLen+1)},
	} {
		err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
			_, _, err := e.svc.CreateEndpoint(context.Background(), tx, orgA, in)
			return err
		})
		if !errors.Is(err, webhook.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if list, _ := e.svc.ListEndpoints(context.Background(), orgA); len(list) != 0 {
		t.Fatalf("refused input left %d endpoints", len(list))
	}
}

func TestEndpointsAreScopedByOrganization(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{})
		ep, _ := e.create(t, orgA, webhook.EndpointInput{URL: "https://hooks.example.com/in"})
		if _, err := e.svc.GetEndpoint(ctx, orgB, ep.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get from B: %v, want ErrNotFound", err)
		}
		if list, err := e.svc.ListEndpoints(ctx, orgB); err != nil || len(list) != 0 {
			t.Errorf("list of B = %+v, %v", list, err)
		}
		if _, _, err := e.svc.Deliveries(ctx, orgB, ep.ID, "", 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deliveries from B: %v, want ErrNotFound", err)
		}
		for name, op := range map[string]func(tx *store.Tx) error{
			"update": func(tx *store.Tx) error {
				_, err := e.svc.UpdateEndpoint(ctx, tx, orgB, ep.ID, webhook.EndpointInput{URL: "https://evil.example.com/"})
				return err
			},
			"delete": func(tx *store.Tx) error { return e.svc.DeleteEndpoint(ctx, tx, orgB, ep.ID) },
			"rotate": func(tx *store.Tx) error { _, err := e.svc.RotateSecret(ctx, tx, orgB, ep.ID); return err },
		} {
			if err := e.db.Tx(ctx, op); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s from B: %v, want ErrNotFound", name, err)
			}
		}
		got, err := e.svc.GetEndpoint(ctx, orgA, ep.ID)
		if err != nil || got.URL != ep.URL || !got.UpdatedAt.Equal(ep.UpdatedAt) {
			t.Fatalf("A's endpoint after B's attempts: %+v, %v", got, err)
		}
	})
}

// TestSecretIsSealedAtRest looks for the secret in every stored form: the
// endpoint's column on both drivers, and the SQLite file and its WAL
// byte for byte.
func TestSecretIsSealedAtRest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		e := setup(t, d, webhook.Options{})
		ep, secret := e.create(t, orgA, webhook.EndpointInput{URL: "https://hooks.example.com/in"})
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, webhook.SecretPrefix))
		forms := [][]byte{[]byte(secret), []byte(secret[len(webhook.SecretPrefix):]), key}
		var column []byte
		if err := store.Scan(e.db.Reader().QueryRow(ctx, `SELECT secret FROM webhook_endpoints WHERE id = ?`, ep.ID), &column); err != nil {
			t.Fatal(err)
		}
		if len(column) == 0 {
			t.Fatal("no secret stored")
		}
		for _, f := range forms {
			if bytes.Contains(column, f) {
				t.Fatal("secret column holds the secret in clear")
			}
		}
		if d != store.SQLite {
			return
		}
		var raw []byte
		for _, path := range []string{e.db.Path(), e.db.Path() + "-wal"} {
			b, err := os.ReadFile(path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			raw = append(raw, b...)
		}
		if !bytes.Contains(raw, []byte("hooks.example.com/in")) {
			t.Fatal("the endpoint's URL is not in the database files: the test reads the wrong files")
		}
		for _, f := range forms {
			if bytes.Contains(raw, f) {
				t.Fatal("the SQLite files hold the secret in clear")
			}
		}
	})
}
