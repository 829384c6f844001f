package smpp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
)

// moReceiver binds a client with opts to an SMSC simulator and returns
// the simulator and the messages the client's handler is given.
func moReceiver(t *testing.T, opts smpp.Options) (*smpptest.Server, <-chan *smpp.Message) {
	t.Helper()
	sim := smpptest.NewServer(nil)
	t.Cleanup(sim.Close)
	got := make(chan *smpp.Message, 16)
	opts.SystemID = "acme"
	opts.Handler = smpp.HandlerFunc(func(ctx context.Context, m *smpp.Message) pdu.Status {
		got <- m
		return pdu.StatusOK
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	c, err := smpp.Dial(ctx, sim.Addr, &opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return sim, got
}

func sendMO(t *testing.T, sim *smpptest.Server, got <-chan *smpp.Message, text string, o coding.SplitOptions) *smpp.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, sim.SendMO(ctx, smpptest.MO{SystemID: "acme", From: "351912345678", To: "2020", Text: text, Split: o}))
	select {
	case m := <-got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

func TestInboundNationalLanguages(t *testing.T) {
	sim, got := moReceiver(t, smpp.Options{})

	// A long Portuguese message in GSM 7-bit with the Portuguese tables,
	// reassembled and decoded with the languages of its header.
	long := strings.Repeat("Não há ações às três; ∞ Φ. ", 12)
	m := sendMO(t, sim, got, long, coding.SplitOptions{Method: coding.UDH16, Languages: []coding.Language{coding.Portuguese}})
	assert.Equal(t, long, m.Text)
	assert.Equal(t, coding.GSM7, m.DataCoding)
	assert.Equal(t, 3, m.Parts)
	assert.Equal(t, []coding.Language{coding.Portuguese, coding.Portuguese}, []coding.Language{m.Locking, m.Single})

	// The same in SAR parts, each with a header of the language elements.
	m = sendMO(t, sim, got, long, coding.SplitOptions{Method: coding.SAR, Languages: []coding.Language{coding.Portuguese}})
	assert.Equal(t, long, m.Text)
	assert.Equal(t, 3, m.Parts)

	// One message whose header holds only a language element.
	turkish := strings.Repeat("Şeker ığdır, İstanbul. ", 4)
	m = sendMO(t, sim, got, turkish, coding.SplitOptions{Languages: []coding.Language{coding.Turkish}})
	assert.Equal(t, turkish, m.Text)
	assert.Equal(t, 1, m.Parts)
	assert.Equal(t, []coding.Language{coding.DefaultLanguage, coding.Turkish}, []coding.Language{m.Locking, m.Single})
	// Data holds the septets: Ş and ı behind escapes, in the Turkish
	// single shift table.
	assert.Equal(t, []byte{0x1B, 0x53, 'e', 'k', 'e', 'r', ' ', 0x1B, 0x69}, m.Data[:9])

	// Without languages, as before.
	m = sendMO(t, sim, got, "hola {amigo}", coding.SplitOptions{})
	assert.Equal(t, "hola {amigo}", m.Text)
	assert.Equal(t, []coding.Language{coding.DefaultLanguage, coding.DefaultLanguage}, []coding.Language{m.Locking, m.Single})
}

func TestInboundPackedGSM(t *testing.T) {
	sim, got := moReceiver(t, smpp.Options{InboundPackedGSM: true})
	short := "Su pago de {100} € fue recibido"
	long := strings.Repeat("Su pago de {100} € fue recibido. ", 10)
	portuguese := strings.Repeat("Não há ações às três. ", 12)
	for _, c := range []struct {
		text string
		o    coding.SplitOptions
	}{
		{short, coding.SplitOptions{Packed: true}},
		{long, coding.SplitOptions{Packed: true}},
		{long, coding.SplitOptions{Packed: true, Method: coding.UDH16}},
		{long, coding.SplitOptions{Packed: true, Method: coding.SAR}},
		{portuguese, coding.SplitOptions{Packed: true, Languages: []coding.Language{coding.Portuguese}}},
		{"Olá, ação!" + strings.Repeat(" ", 70), coding.SplitOptions{Packed: true, Languages: []coding.Language{coding.Portuguese}}},
	} {
		m := sendMO(t, sim, got, c.text, c.o)
		assert.Equal(t, c.text, m.Text, "%+v", c.o)
		assert.Equal(t, coding.GSM7, m.DataCoding)
	}
	// UCS-2 is not unpacked.
	m := sendMO(t, sim, got, "¿Cuándo llega?", coding.SplitOptions{Packed: true})
	assert.Equal(t, coding.UCS2, m.DataCoding)
	assert.Equal(t, "¿Cuándo llega?", m.Text)

	// Without the option, a packed message reads as garbage: the option
	// is what makes the difference.
	sim2, got2 := moReceiver(t, smpp.Options{})
	m = sendMO(t, sim2, got2, short, coding.SplitOptions{Packed: true})
	assert.NotEqual(t, short, m.Text)
}
