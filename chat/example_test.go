package chat_test

import (
	"context"
	"fmt"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// A customer and an operator talk through a test server.
func Example() {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "secreto"}})
	defer srv.Close()
	ctx := context.Background()

	assigned := make(chan int64, 1)
	said := make(chan string, 1)
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "secreto",
		Handler: func(m chat.Message) {
			switch m := m.(type) {
			case *chat.Assigned:
				assigned <- m.ConversationID
			case *chat.Post:
				if m.SenderRole == chat.RoleCustomer {
					said <- m.SenderName + ": " + m.Text
				}
			}
		}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer op.Close()

	served := make(chan string, 1)
	cust, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com",
		Handler: func(m chat.Message) {
			if e, ok := m.(*chat.Event); ok && e.Kind == chat.EventAssigned {
				served <- e.OperatorName
			}
		}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cust.Close()
	conv := <-assigned
	fmt.Println("served by", <-served)
	ack, _ := cust.Send(ctx, "mi pedido no llegó")
	fmt.Println(<-said, "(seq", ack.Seq, "of conversation", conv, ")")
	fmt.Println(op.CloseConversation(ctx, conv))
	// Output:
	// served by luis
	// Ana: mi pedido no llegó (seq 3 of conversation 1 )
	// <nil>
}
