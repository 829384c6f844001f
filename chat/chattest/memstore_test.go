package chattest_test

import (
	"testing"

	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/storetest"
)

// TestMemStoreConformance holds MemStore to the chat contract of the real
// stores.
func TestMemStoreConformance(t *testing.T) {
	storetest.RunChat(t, func(*testing.T) store.ChatStore { return chattest.NewMemStore() })
}
