package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/store"
)

// runWebhook creates, changes, lists or deletes webhook endpoints. A new
// endpoint's signing secret is printed once, as the last word of the
// output; a change keeps the secret unless -new-secret is given.
func runWebhook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	name := fs.String("name", "", "the endpoint's name (letters, digits, . _ @ -)")
	url := fs.String("url", "", "where events are POSTed (http or https)")
	events := fs.String("events", "", "comma-separated: sms (delivery reports), ticket, chat")
	client := fs.String("client", "", "send only this platform client's SMS events (its delivery-report URL)")
	newSecret := fs.Bool("new-secret", false, "give an existing endpoint a new secret")
	del := fs.String("delete", "", "delete the endpoint with this name and its deliveries")
	list := fs.Bool("list", false, "list the endpoints (never their secrets)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := sf.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch {
	case *list:
		return listWebhooks(ctx, st, stdout)
	case *del != "":
		if err := st.DeleteWebhookEndpoint(ctx, *del); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("webhook: no endpoint named %q", *del)
			}
			return err
		}
		fmt.Fprintf(stdout, "endpoint %s deleted\n", *del)
		return nil
	case *name == "":
		return errors.New("webhook: -name, -delete or -list is required")
	}

	var prev store.WebhookEndpoint
	eps, err := st.WebhookEndpoints(ctx)
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e.Name == *name {
			prev = e
		}
	}
	e := store.WebhookEndpoint{Name: *name, URL: cmp.Or(*url, prev.URL), Secret: prev.Secret, Topics: prev.Topics,
		ClientID: prev.ClientID, CreatedAt: prev.CreatedAt}
	if *events != "" {
		e.Topics = nil
		for _, t := range strings.Split(*events, ",") {
			e.Topics = append(e.Topics, store.WebhookTopic(strings.TrimSpace(t)))
		}
	}
	if *client != "" {
		c, err := st.ClientByName(ctx, *client)
		if errors.Is(err, store.ErrNotFound) {
			c = store.Client{Name: *client}
			err = st.CreateClient(ctx, &c)
		}
		if err != nil {
			return err
		}
		e.ClientID = c.ID
	}
	if e.URL == "" || len(e.Topics) == 0 {
		return errors.New("webhook: a new endpoint needs -url and -events")
	}
	fresh := e.Secret == "" || *newSecret
	if fresh {
		b := make([]byte, 24)
		rand.Read(b)
		e.Secret = "whsec_" + base64.RawURLEncoding.EncodeToString(b)
	}
	if err := st.PutWebhookEndpoint(ctx, &e); err != nil {
		return err
	}
	if !fresh {
		fmt.Fprintf(stdout, "endpoint %s saved (secret unchanged)\n", e.Name)
		return nil
	}
	fmt.Fprintf(stdout, "endpoint %s saved; its signing secret (shown once; see Switchboard-Signature in API.md):\n%s\n", e.Name, e.Secret)
	return nil
}

func listWebhooks(ctx context.Context, st store.Store, stdout io.Writer) error {
	eps, err := st.WebhookEndpoints(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tEVENTS\tCLIENT\tURL")
	for _, e := range eps {
		topics := make([]string, len(e.Topics))
		for i, t := range e.Topics {
			topics[i] = string(t)
		}
		client := "(all)"
		if e.ClientID != 0 {
			c, err := st.Client(ctx, e.ClientID)
			if err != nil {
				return err
			}
			client = c.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, strings.Join(topics, ","), client, e.URL)
	}
	return tw.Flush()
}
