package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// AttachmentsStoredOnce adds 18 articles that each carry the same logo
// and a file of their own, reads every attachment back, and returns the
// bytes of the logo for the caller to count how often its backend keeps
// them (it must be once).
func AttachmentsStoredOnce(t *testing.T, st store.TicketStore) (logo []byte) {
	ctx := context.Background()
	q := store.Queue{Name: "Logos"}
	require.NoError(t, st.CreateQueue(ctx, &q))
	tk := store.Ticket{Title: "thread", QueueID: q.ID}
	require.NoError(t, st.CreateTicket(ctx, &tk))
	logo = bytes.Repeat([]byte("logo"), 18<<10/4)
	var ids []int64
	for i := range 18 {
		a := store.Article{TicketID: tk.ID, Direction: store.Inbound, Subject: "Re: thread", TextBody: "more"}
		atts := []store.TicketAttachment{
			{Name: "logo.png", MediaType: "image/png", ContentID: "logo", Data: logo},
			{Name: fmt.Sprintf("log-%d.txt", i), MediaType: "text/plain", Data: []byte(fmt.Sprint("line ", i))},
		}
		require.NoError(t, st.AddArticle(ctx, &a, atts))
		ids = append(ids, atts[0].ID, atts[1].ID)
	}
	for i, id := range ids {
		a, err := st.TicketAttachment(ctx, id)
		require.NoError(t, err)
		if i%2 == 0 {
			assert.Equal(t, "logo.png", a.Name)
			assert.Equal(t, logo, a.Data)
			assert.Equal(t, int64(len(logo)), a.Size)
		} else {
			assert.Equal(t, fmt.Sprint("line ", i/2), string(a.Data))
		}
	}
	return logo
}
