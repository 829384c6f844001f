package gateway

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/store"
)

func TestNormalize(t *testing.T) {
	n := Numbering{CountryCode: "58", NationalPrefix: "0"}
	for in, want := range map[string]string{
		"+58 412-123.45.67": "584121234567",
		"00584121234567":    "584121234567",
		"0412 1234567":      "584121234567",
		"(0412) 123 4567":   "584121234567",
		"584121234567":      "584121234567",
	} {
		if got, err := n.Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "12345", "+58412x234567", "1234567890123456", "+0412123456", "58 412+1234567"} {
		if got, err := n.Normalize(bad); !errors.Is(err, ErrBadNumber) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrBadNumber", bad, got, err)
		}
	}
	if _, err := (Numbering{NationalPrefix: "0"}).Normalize("04121234567"); !errors.Is(err, ErrBadNumber) {
		t.Errorf("national number without country code: %v", err)
	}
}

func TestRouter(t *testing.T) {
	ops := []store.Operator{
		{ID: 1, Name: "movil", Enabled: true, Prefixes: []string{"58414", "58424"}},
		{ID: 2, Name: "digi", Enabled: true, Prefixes: []string{"58412"}},
		{ID: 3, Name: "digi-premium", Enabled: true, Prefixes: []string{"584121"}},
		{ID: 4, Name: "off", Enabled: false, Prefixes: []string{"58416"}, Default: true},
		{ID: 5, Name: "rx", Enabled: true, BindMode: store.BindReceiver, Prefixes: []string{"58426"}},
	}
	r := NewRouter(ops)
	for num, want := range map[string]int64{"584141234567": 1, "584241234567": 1, "584122234567": 2, "584121234567": 3} {
		if o, err := r.Route(num); err != nil || o.ID != want {
			t.Errorf("Route(%s) = %v, %v; want %d", num, o, err, want)
		}
	}
	for _, num := range []string{"584161234567", "584261234567", "571234567890"} {
		if _, err := r.Route(num); !errors.Is(err, ErrNoRoute) {
			t.Errorf("Route(%s): %v, want ErrNoRoute", num, err)
		}
	}
	ops[1].Default = true
	if o, err := NewRouter(ops).Route("571234567890"); err != nil || o.ID != 2 {
		t.Errorf("default route: %v, %v", o, err)
	}
}

// Operators of one priority share a prefix in turn by weight: exact
// shares, interleaved (a pool of modems each gets its next message while
// the others send theirs), also when one is unhealthy, and from
// concurrent routing.
func TestRouterTurns(t *testing.T) {
	ops := []store.Operator{
		{ID: 1, Name: "a", Enabled: true, Prefixes: []string{"58414"}, Weight: 1},
		{ID: 2, Name: "b", Enabled: true, Prefixes: []string{"58414"}, Weight: 2},
		{ID: 3, Name: "c", Enabled: true, Prefixes: []string{"58414"}},
		{ID: 4, Name: "backup", Enabled: true, Prefixes: []string{"58414"}, Priority: 1},
	}
	r := NewRouter(ops)
	var seq []int64
	for range 8 {
		o, err := r.Route("584141234567")
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, o.ID)
	}
	if want := []int64{2, 1, 3, 2, 2, 1, 3, 2}; !slices.Equal(seq, want) {
		t.Errorf("turns %v, want %v", seq, want)
	}
	n := map[int64]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				o, _ := r.RouteHealthy("584141234567", func(id int64) bool { return id != 3 })
				mu.Lock()
				n[o.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n[1] < 132 || n[1] > 134 || n[2] < 266 || n[2] > 268 || n[3] != 0 || n[4] != 0 {
		t.Errorf("shares with c down: %v, want a third and two thirds", n)
	}
	o, _ := r.RouteHealthy("584141234567", func(id int64) bool { return id == 4 })
	if o.ID != 4 {
		t.Errorf("with only the backup healthy: %d", o.ID)
	}
}

func TestProfileParams(t *testing.T) {
	op := store.Operator{Name: "x", Host: "127.0.0.1", Port: 2775, BindMode: store.BindPair, Params: []store.OperatorParam{
		{Command: "submit_sm", Name: "service_type", Value: "CMT"},
		{Command: "submit_sm", Name: "source_addr_ton", Value: "5"},
		{Command: "submit_sm", Name: "registered_delivery", Value: "0x01"},
		{Command: "submit_sm", Name: "validity_period", Value: "48h"},
		{Command: "submit_sm", Name: "data_coding", Value: "8"},
		{Command: "bind", Name: "interface_version", Value: "50"},
		{Command: "gateway", Name: "receipt_id", Value: "hex-dec"},
		{Command: "gateway", Name: "split", Value: "sar"},
	}}
	p, err := newProfile(op)
	if err != nil {
		t.Fatal(err)
	}
	if p.tmpl.ServiceType != "CMT" || p.tmpl.SourceAddrTON != 5 || p.tmpl.ValidityPeriod != "000002000000000R" ||
		!p.split.Fixed || p.split.Coding != 8 || p.opts.InterfaceVersion != 0x50 || p.addr != "127.0.0.1:2775" {
		t.Fatalf("profile %+v", p)
	}
	// Both sides come to one number: leading zeros, case and width do
	// not matter (the forms did not match, and ids over 64 bits stayed
	// unconverted).
	for _, c := range []struct{ submit, receipt string }{
		{"1F4", "500"}, {"1f4", "500"}, {"0A1B2C3D", "169552957"}, {"00000000000000000000000001", "1"},
		{"123456789ABCDEF0123", "5373003642731685151011"},
	} {
		assert.Equal(t, p.submitID(c.submit), p.receiptMessageID(&coding.Receipt{ID: c.receipt}), "%s vs %s", c.submit, c.receipt)
	}
	assert.NotEqual(t, p.submitID("10"), p.receiptMessageID(&coding.Receipt{ID: "10"}), "hex 10 is decimal 16, not 10")
	op.Params = []store.OperatorParam{{Command: "gateway", Name: "receipt_id", Value: "dec-hex"}}
	q, err := newProfile(op)
	require.NoError(t, err)
	assert.Equal(t, q.submitID("0000012345"), q.receiptMessageID(&coding.Receipt{ID: "3039"}))
	for _, bad := range []store.OperatorParam{
		{Command: "submit_sm", Name: "source_addr_ton", Value: "300"},
		{Command: "submit_sm", Name: "nope", Value: "1"},
		{Command: "gateway", Name: "receipt_id", Value: "octal"},
		{Command: "submit_sm", Name: "validity_period", Value: "tomorrow"},
	} {
		op.Params = []store.OperatorParam{bad}
		if _, err := newProfile(op); err == nil {
			t.Errorf("param %+v accepted", bad)
		}
	}
}
