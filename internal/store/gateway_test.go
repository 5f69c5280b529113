package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestGatewayConnectorRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		at := time.UnixMicro(1_700_000_000_000_000).UTC()
		c := store.GatewayConnectorRow{ID: "gwc_1", OrgID: "org_a", Name: "Microsoft 365", IPRanges: "40.92.0.0/15 2a01:111:f400::/48",
			CertSHA256: "", ClientCA: "", CertNames: "mail.protection.outlook.com", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
			RequireTLS: true, Enabled: true, CreatedAt: at, UpdatedAt: at}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, org := range []string{"org_a", "org_b", "org_off"} {
				if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org, org, store.Micros(at)); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE organizations SET status = 'disabled' WHERE id = 'org_off'`); err != nil {
				return err
			}
			for _, r := range []store.GatewayConnectorRow{
				c,
				{ID: "gwc_2", OrgID: "org_b", Name: "Microsoft 365", CertSHA256: "ab", RequireTLS: true, Enabled: false, CreatedAt: at, UpdatedAt: at},
				{ID: "gwc_3", OrgID: "org_off", Name: "on-prem", IPRanges: "192.0.2.0/24", Enabled: true, CreatedAt: at, UpdatedAt: at},
			} {
				if err := store.InsertGatewayConnector(ctx, tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.GetGatewayConnector(ctx, db.Reader(), "org_a", "gwc_1")
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("read back %+v, %v; want %+v", got, err, c)
		}
		if _, err := store.GetGatewayConnector(ctx, db.Reader(), "org_b", "gwc_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization's connector: %v, want ErrNotFound", err)
		}
		// Names are unique within an organization, not across them.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			return store.InsertGatewayConnector(ctx, tx, store.GatewayConnectorRow{ID: "gwc_4", OrgID: "org_a", Name: "Microsoft 365", CreatedAt: at, UpdatedAt: at})
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: %v, want ErrConflict", err)
		}
		// The listener sees only enabled connectors of active organizations.
		en, err := store.EnabledGatewayConnectors(ctx, db.Reader())
		if err != nil || len(en) != 1 || en[0].ID != "gwc_1" {
			t.Fatalf("enabled connectors %+v, %v", en, err)
		}

		c.Name, c.Enabled, c.UpdatedAt = "M365 (disabled)", false, at.Add(time.Hour)
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.UpdateGatewayConnector(ctx, tx, c) }); err != nil {
			t.Fatal(err)
		}
		list, err := store.ListGatewayConnectors(ctx, db.Reader(), "org_a")
		if err != nil || len(list) != 1 || list[0].Name != c.Name || list[0].Enabled || !list[0].UpdatedAt.Equal(c.UpdatedAt) {
			t.Fatalf("after update %+v, %v", list, err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteGatewayConnector(ctx, tx, "org_b", "gwc_1") })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete through another organization: %v, want ErrNotFound", err)
		}
		other := c
		other.OrgID = "org_b"
		err = db.Tx(ctx, func(tx *store.Tx) error { return store.UpdateGatewayConnector(ctx, tx, other) })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update through another organization: %v, want ErrNotFound", err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.DeleteGatewayConnector(ctx, tx, "org_a", "gwc_1") }); err != nil {
			t.Fatal(err)
		}
		if list, _ := store.ListGatewayConnectors(ctx, db.Reader(), "org_a"); len(list) != 0 {
			t.Fatalf("after delete: %+v", list)
		}
	})
}
