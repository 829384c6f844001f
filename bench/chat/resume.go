package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// runResume runs the resume torture (chattest.Torture) at full size on
// the in-memory store and on SQLite, and prints each report; an error
// means a message was lost, repeated or reordered.
func runResume(customers, perSender, perSenderSQLite int, dropEvery time.Duration) error {
	ctx := context.Background()
	rep, err := chattest.Torture(ctx, chattest.TortureConfig{Customers: customers, PerSender: perSender, DropEvery: dropEvery,
		Timeout: 10 * time.Minute})
	fmt.Printf("resume memory: %s\n", rep)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "chat-resume")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "chat.db"), nil)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err = chattest.Torture(ctx, chattest.TortureConfig{Store: st, Customers: customers, PerSender: perSenderSQLite,
		DropEvery: dropEvery, Timeout: 10 * time.Minute})
	fmt.Printf("resume sqlite: %s\n", rep)
	return err
}
