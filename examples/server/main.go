// Command server runs switchboard's channels in one process on one store
// (SQLite under -data by default, PostgreSQL with -db), until SIGINT or
// SIGTERM.
//
// Usage:
//
//	server [flags]              run every configured channel
//	server tickets [flags]      print tickets, one JSON object a line
//	server ticket NUMBER        a ticket's articles
//	server reply NUMBER [flags] answer a ticket's customer by mail
//	server state NUMBER STATE   set a ticket open, pending or closed
//	server assign NUMBER        give a ticket an owner (-agent)
//	server merge FROM INTO      merge a ticket into another
//	server stats [flags]        print ticket statistics
//	server operators [flags]    list the SMS operators with their counts
//	server operator [flags]     add, change (-name) or -delete an SMS operator
//	server chat-operator [flags] create or change a chat operator account
//	server user [flags]         create, change or -list people's accounts
//	server api-token [flags]    make, -list or -revoke API tokens
//	server webhook [flags]      add, change, -list or -delete webhook endpoints
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // -chat-tz on machines without a time zone database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run is main without the process: testable in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "tickets":
			return runTickets(ctx, args[1:], stdout, stderr)
		case "stats":
			return runStats(ctx, args[1:], stdout, stderr)
		case "operators":
			return runOperators(ctx, args[1:], stdout, stderr)
		case "operator":
			return runOperator(ctx, args[1:], stdout, stderr)
		case "ticket":
			return runTicket(ctx, args[1:], stdout, stderr)
		case "state":
			return runState(ctx, args[1:], stdout, stderr)
		case "assign":
			return runAssign(ctx, args[1:], stdout, stderr)
		case "merge":
			return runMerge(ctx, args[1:], stdout, stderr)
		case "reply":
			return runReply(ctx, args[1:], stdout, stderr)
		case "chat-operator":
			return runChatOperator(ctx, args[1:], os.Stdin, stdout, stderr)
		case "user":
			return runUser(ctx, args[1:], os.Stdin, stdout, stderr)
		case "api-token":
			return runAPIToken(ctx, args[1:], stdout, stderr)
		case "webhook":
			return runWebhook(ctx, args[1:], stdout, stderr)
		}
	}
	return serve(ctx, args, stdout, stderr)
}

// parseFlags parses a command's flags and refuses anything after them: a
// subcommand written after the server's flags would otherwise start the
// server.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (a command comes first: server COMMAND [flags])", fs.Args())
	}
	return nil
}
