package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/switchboard-go/switchboard/examples/internal/api"
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

	ch := api.EndpointChange{Name: *name, URL: *url, NewSecret: *newSecret}
	if *events != "" {
		ch.Events = strings.Split(*events, ",")
	}
	if *client != "" {
		ch.Client = client
	}
	e, secret, err := api.SaveEndpoint(ctx, st, ch)
	if errors.Is(err, api.ErrEndpointIncomplete) {
		return errors.New("webhook: a new endpoint needs -url and -events")
	}
	if err != nil {
		return err
	}
	if secret == "" {
		fmt.Fprintf(stdout, "endpoint %s saved (secret unchanged)\n", e.Name)
		return nil
	}
	fmt.Fprintf(stdout, "endpoint %s saved; its signing secret (shown once; see Switchboard-Signature in API.md):\n%s\n", e.Name, secret)
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
