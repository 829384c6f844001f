package webhook_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
	"github.com/switchboard-go/switchboard/webhook"
)

// A receiver checks each request's signature; a dispatcher sends what
// the store recorded.
func Example() {
	const secret = "whsec_example_secret"
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.ReadRequest(r, secret, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Println(r.Header.Get("Switchboard-Event"), len(body) > 0)
	}))
	defer receiver.Close()

	dir, _ := os.MkdirTemp("", "webhook-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "hooks.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	err = st.PutWebhookEndpoint(ctx, &store.WebhookEndpoint{Name: "crm", URL: receiver.URL, Secret: secret,
		Topics: []store.WebhookTopic{store.TopicChat}})
	if err != nil {
		log.Fatal(err)
	}
	// A customer comes to the chat: the store records the event with it.
	if err := st.CreateConversation(ctx, &store.Conversation{CustomerName: "Ana"}); err != nil {
		log.Fatal(err)
	}
	d := &webhook.Dispatcher{Store: st} // a server runs d.Run(ctx) instead
	if _, err := d.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: chat.waiting true
}
