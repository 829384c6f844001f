package smpp

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// SubmitText encodes text (the coding chosen automatically unless
// o.Fixed), splits it when it does not fit one message (by o.Method: UDH
// with an 8- or 16-bit reference, SAR TLVs, or message_payload), and
// submits each part as a copy of tmpl (addresses, registered_delivery,
// ...; its short_message and data_coding are replaced). It returns the
// message ids of the parts in order. A zero o.Ref is replaced by a random
// reference.
//
// The parts are submitted one after the other, each with Submit's
// retries. If a part fails, the ids of the parts already accepted are
// returned with the error.
func (c *Client) SubmitText(ctx context.Context, tmpl *pdu.SubmitSM, text string, o coding.SplitOptions) ([]string, error) {
	if o.Ref == 0 {
		o.Ref = uint16(rand.IntN(0xFFFF) + 1)
	}
	dc, parts, err := coding.Split(text, o)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(parts))
	for i, part := range parts {
		sm := *tmpl
		sm.TLVs = pdu.TLVs{}
		for tag, v := range tmpl.TLVs.All() {
			sm.TLVs.Add(tag, v)
		}
		part.Apply(&sm, dc)
		id, err := c.Submit(ctx, &sm)
		if err != nil {
			return ids, fmt.Errorf("smpp: part %d of %d: %w", i+1, len(parts), err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
