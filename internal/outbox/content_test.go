package outbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestContentIsStoredCompressedAndOpensWhole: an HTML message's row holds
// a fraction of its size and opens to the message; content S2 would not
// shrink is stored as it is; and a row sealed before compression (the
// message itself under the key) still opens — all under the row's AAD, so
// one message's content does not open as another's.
func TestContentIsStoredCompressedAndOpensWhole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		a, org := setup(t, d)
		ctx := context.Background()
		dr := draft("pat@patients.example")
		dr.HTML = "<html><body>" + strings.Repeat(`<p style="font-family:Arial,sans-serif;color:#333">Your visit is on Thursday.</p>`, 100) + "</body></html>"
		res, err := a.Outbox.Submit(ctx, sub(org, dr))
		if err != nil {
			t.Fatal(err)
		}
		m, raw := storedContent(t, a, org, res.MessageID)
		if int64(len(raw)) != m.Size || !bytes.Contains(raw, []byte("Subject: Reminder")) || !bytes.Contains(raw, []byte("Thursday")) {
			t.Fatalf("opened %d bytes of a %d-byte message:\n%.300s", len(raw), m.Size, raw)
		}
		if len(m.Content) > len(raw)/4 {
			t.Fatalf("a %d-byte HTML message is stored in %d bytes, want a quarter or less", len(raw), len(m.Content))
		}
		if _, err := outbox.OpenContent(ctx, a.Keys, a.DB.Reader(), org, "msg_other", m.Content); err == nil {
			t.Fatal("the content opened under another message's id")
		}

		noise := make([]byte, 20000)
		rand.Read(noise)
		old := []byte("From: a@clinic.example\r\nSubject: sealed before compression\r\n\r\nHello.\r\n")
		var sealedNoise, sealedOld []byte
		err = a.DB.Tx(ctx, func(tx *store.Tx) error {
			var err error
			if sealedNoise, _, err = outbox.SealContent(ctx, a.Keys, tx, org, "msg_noise", outbox.PackContent(noise)); err != nil {
				return err
			}
			sealedOld, _, err = a.Keys.Seal(ctx, tx, outbox.ContentAAD(org, "msg_old"), old)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(sealedNoise) < len(noise) || len(sealedNoise) > len(noise)+100 {
			t.Fatalf("%d random bytes sealed to %d: want them stored as they are", len(noise), len(sealedNoise))
		}
		for _, c := range []struct {
			id     string
			sealed []byte
			want   []byte
		}{{"msg_noise", sealedNoise, noise}, {"msg_old", sealedOld, old}} {
			got, err := outbox.OpenContent(ctx, a.Keys, a.DB.Reader(), org, c.id, c.sealed)
			if err != nil || !bytes.Equal(got, c.want) {
				t.Fatalf("%s opened to %d bytes (%v), want its %d", c.id, len(got), err, len(c.want))
			}
		}
	})
}

// TestPreparedMessagesKeepTheirOwnContent: messages prepared one after
// another — built and compressed in reused buffers — and written together
// each open to their own content, compressed or stored as they are (a
// message S2 cannot shrink keeps the buffer it was built in).
func TestPreparedMessagesKeepTheirOwnContent(t *testing.T) {
	t.Parallel()
	a, org := setup(t, storetest.Default())
	ctx := context.Background()
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	noise := func() string {
		b := make([]byte, 12000)
		rand.Read(b)
		for i := range b {
			b[i] = letters[int(b[i])%len(letters)]
		}
		return string(b)
	}
	var ps []*outbox.Prepared
	var marks []string
	for i := range 8 {
		dr := draft("pat@patients.example")
		mark := noise()[:40]
		if i%2 == 0 {
			dr.Text = mark + " " + noise() // S2 cannot shrink it
		} else {
			dr.HTML = "<p>" + mark + "</p>" + strings.Repeat("<p>Your visit is on Thursday.</p>", 300)
		}
		p, err := a.Outbox.Prepare(ctx, sub(org, dr))
		if err != nil {
			t.Fatal(err)
		}
		ps, marks = append(ps, p), append(marks, mark)
	}
	var res []outbox.Result
	err := a.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		res, err = a.Outbox.CommitManyTx(ctx, tx, ps)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		m, raw := storedContent(t, a, org, r.MessageID)
		if int64(len(raw)) != m.Size || !bytes.Contains(raw, []byte(marks[i])) {
			t.Fatalf("message %d opened to %d bytes of %d without its own text", i, len(raw), m.Size)
		}
		for j, other := range marks {
			if j != i && bytes.Contains(raw, []byte(other)) {
				t.Fatalf("message %d holds message %d's text", i, j)
			}
		}
	}
}

// storedContent reads message id's row and opens its stored content.
func storedContent(t *testing.T, a *app.App, org, id string) (store.MessageRow, []byte) {
	t.Helper()
	ctx := context.Background()
	m, err := store.GetMessage(ctx, a.DB.Reader(), org, id)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := outbox.OpenContent(ctx, a.Keys, a.DB.Reader(), org, m.ID, m.Content)
	if err != nil {
		t.Fatal(err)
	}
	return m, raw
}
