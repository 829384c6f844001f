package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/examples/internal/api"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/store"
)

// runUser creates or changes a person's account.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var a store.Account
	fs.StringVar(&a.Login, "login", "", "login (required; letters, digits, . _ @ -)")
	fs.StringVar(&a.Name, "name", "", "the person's name")
	role := fs.String("role", "", "admin, agent (tickets), operator (chat) or sms (one client's SMS; needs -client); required for a new account")
	fs.StringVar(&a.Client, "client", "", "the platform client an sms account sees")
	fs.BoolVar(&a.Disabled, "disable", false, "keep the account but refuse its logins (-disable=false enables it again)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	list := fs.Bool("list", false, "list the accounts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := sf.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *list {
		return listAccounts(ctx, st, stdout)
	}
	if a.Login == "" {
		return errors.New("user: -login is required")
	}
	prev, err := st.Account(ctx, a.Login)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	a.Role = store.AccountRole(*role)
	switch {
	case *fromStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("user: reading the password: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if len(password) < 8 {
			return errors.New("user: a password has at least 8 characters")
		}
		if a.PasswordHash, err = chat.HashPassword(password); err != nil {
			return err
		}
	case exists:
		a.PasswordHash = prev.PasswordHash
	default:
		return errors.New("user: a new account needs a password (-password-stdin)")
	}
	disableGiven := false
	fs.Visit(func(f *flag.Flag) { disableGiven = disableGiven || f.Name == "disable" })
	if exists { // a change keeps what it does not give
		if !disableGiven {
			a.Disabled = prev.Disabled
		}
		a.Role = cmp.Or(a.Role, prev.Role)
		if a.Role == prev.Role && a.Client == "" {
			a.Client = prev.Client
		}
		a.Name = cmp.Or(a.Name, prev.Name)
		a.CreatedAt = prev.CreatedAt
	}
	if err := st.PutAccount(ctx, &a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "account %s (%s) saved\n", a.Login, a.Role)
	return nil
}

func listAccounts(ctx context.Context, st store.Store, stdout io.Writer) error {
	as, err := st.Accounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tROLE\tCLIENT\tNAME\tDISABLED")
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", a.Login, a.Role, cmp.Or(a.Client, "-"), a.Name, a.Disabled)
	}
	return tw.Flush()
}

// runAPIToken makes, lists or revokes API tokens. A new token is printed
// once, as the last word of the output.
func runAPIToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server api-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	name := fs.String("name", "", "the new token's name (who or what uses it)")
	client := fs.String("client", "", "limit the token to this platform client's SMS")
	revoke := fs.String("revoke", "", "revoke the token with this name")
	list := fs.Bool("list", false, "list the tokens (never their secrets)")
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
		ts, err := st.APITokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCLIENT\tCREATED\tREVOKED")
		for _, t := range ts {
			revoked := "-"
			if !t.RevokedAt.IsZero() {
				revoked = t.RevokedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, cmp.Or(t.Client, "(all)"), t.CreatedAt.Format("2006-01-02 15:04"), revoked)
		}
		return tw.Flush()
	case *revoke != "":
		if err := st.RevokeAPIToken(ctx, *revoke, time.Time{}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("api-token: no token named %q in use", *revoke)
			}
			return err
		}
		fmt.Fprintf(stdout, "token %s revoked\n", *revoke)
		return nil
	case *name == "":
		return errors.New("api-token: -name, -revoke or -list is required")
	}
	token, rec := api.NewToken(*name, *client)
	if err := st.CreateAPIToken(ctx, &rec); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("api-token: a token named %q is in use (revoke it first)", *name)
		}
		return err
	}
	scope := "every client"
	if *client != "" {
		scope = "client " + *client
	}
	fmt.Fprintf(stdout, "token %s for %s (shown once; use it as \"Authorization: Bearer TOKEN\"):\n%s\n", *name, scope, token)
	return nil
}
