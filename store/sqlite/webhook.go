package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/internal/rules"
	"github.com/switchboard-go/switchboard/store/internal/scan"
)

func (o *ops) PutWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	if err := rules.WebhookEndpoint(e); err != nil {
		return wrap("put webhook endpoint", err)
	}
	return wrap("put webhook endpoint", o.write(ctx, func(o *ops) error {
		if e.ClientID != 0 {
			var one int
			if err := o.w().QueryRowContext(ctx, `SELECT 1 FROM sms_clients WHERE id = ?`, e.ClientID).Scan(&one); err != nil {
				return noClient(err, e.ClientID)
			}
		}
		if e.ID == 0 {
			if err := o.w().QueryRowContext(ctx, `INSERT INTO webhook_endpoints (name, url, secret, on_sms, on_ticket, on_chat,
				client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, created_at`,
				e.Name, e.URL, e.Secret, e.Has(store.TopicSMS), e.Has(store.TopicTicket),
				e.Has(store.TopicChat), e.ClientID, tm(e.CreatedAt)).Scan(&e.ID, scan.Time(&e.CreatedAt)); err != nil {
				return err
			}
		} else if err := o.w().QueryRowContext(ctx, `UPDATE webhook_endpoints SET url = ?, secret = ?, on_sms = ?, on_ticket = ?,
			on_chat = ?, client_id = ? WHERE id = ? AND name = ? RETURNING created_at`,
			e.URL, e.Secret, e.Has(store.TopicSMS), e.Has(store.TopicTicket), e.Has(store.TopicChat), e.ClientID,
			e.ID, e.Name).Scan(scan.Time(&e.CreatedAt)); err != nil {
			return endpointGone(err, e)
		}
		return o.syncWebhookTriggers(ctx)
	}))
}

func (o *ops) WebhookEndpoints(ctx context.Context) ([]store.WebhookEndpoint, error) {
	rows, err := o.q().QueryContext(ctx, `SELECT `+scan.WebhookEndpointCols+` FROM webhook_endpoints ORDER BY name`)
	if err != nil {
		return nil, wrap("webhook endpoints", err)
	}
	return collect(rows, scan.WebhookEndpoint, "webhook endpoints")
}

func (o *ops) DeleteWebhookEndpoint(ctx context.Context, name string) error {
	return wrap("delete webhook endpoint", o.write(ctx, func(o *ops) error {
		if err := affected(o.w().ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE name = ?`, name)); err != nil {
			return err
		}
		return o.syncWebhookTriggers(ctx)
	}))
}

func (o *ops) ClaimWebhookDeliveries(ctx context.Context, n int, now time.Time, lease time.Duration) ([]store.WebhookDelivery, error) {
	if n <= 0 {
		return nil, nil
	}
	now = rules.Or(now)
	var ds []store.WebhookDelivery
	err := o.write(ctx, func(o *ops) error {
		rows, err := o.w().QueryContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?
			WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
				ORDER BY next_attempt_at, id LIMIT ?)
			RETURNING `+scan.WebhookDeliveryCols, tm0(now.Add(lease)), tm0(now), n)
		if err != nil {
			return err
		}
		ds, err = collect(rows, scan.WebhookDelivery, "claim webhook deliveries")
		return err
	})
	if err != nil {
		return nil, wrap("claim webhook deliveries", err) // rolled back: none is claimed
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	return ds, nil
}

func (o *ops) FinishWebhookDelivery(ctx context.Context, a store.WebhookAttempt) error {
	if err := rules.WebhookAttempt(&a); err != nil {
		return wrap("finish webhook delivery", err)
	}
	state, next, delivered := rules.AttemptOutcome(a)
	return wrap("finish webhook delivery", o.write(ctx, func(o *ops) error {
		return affected(o.w().ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?,
			delivered_at = ?, last_status = ?, last_error = ?, payload = COALESCE(payload, ?), finished = attempts
			WHERE id = ? AND attempts = ? AND state = 'pending'`,
			state, tm0(next), tm(delivered), a.Status, a.Error, a.Payload, a.ID, a.Attempt))
	}))
}

func (o *ops) WebhookDelivery(ctx context.Context, id int64) (store.WebhookDelivery, error) {
	d, err := scan.WebhookDelivery(o.q().QueryRowContext(ctx, `SELECT `+scan.WebhookDeliveryCols+`
		FROM webhook_deliveries WHERE id = ?`, id))
	return d, wrap("webhook delivery", err)
}

func (o *ops) WebhookDeliveries(ctx context.Context, f store.WebhookDeliveryFilter) ([]store.WebhookDelivery, error) {
	limit, err := rules.DeliveryLimit(f)
	if err != nil {
		return nil, wrap("webhook deliveries", err)
	}
	if f.EndpointIDs != nil && len(f.EndpointIDs) == 0 {
		return nil, nil
	}
	var where []string
	var args []any
	if f.EndpointIDs != nil {
		where = append(where, `endpoint_id IN (?`+strings.Repeat(", ?", len(f.EndpointIDs)-1)+`)`)
		for _, id := range f.EndpointIDs {
			args = append(args, id)
		}
	}
	if f.State != "" {
		where, args = append(where, `state = ?`), append(args, f.State)
	}
	if f.BeforeID > 0 {
		where, args = append(where, `id < ?`), append(args, f.BeforeID)
	}
	q := `SELECT ` + scan.WebhookDeliveryCols + ` FROM webhook_deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := o.q().QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, wrap("webhook deliveries", err)
	}
	return collect(rows, scan.WebhookDelivery, "webhook deliveries")
}

func (o *ops) ReplayWebhookDelivery(ctx context.Context, id int64, now time.Time) error {
	return wrap("replay webhook delivery", o.write(ctx, func(o *ops) error {
		return affected(o.w().ExecContext(ctx, `UPDATE webhook_deliveries SET
			replay_base = CASE WHEN state = 'pending' THEN replay_base ELSE attempts END,
			next_attempt_at = CASE WHEN state = 'pending' AND finished < attempts THEN next_attempt_at ELSE ? END,
			state = 'pending', delivered_at = NULL WHERE id = ?`, tm0(rules.Or(now)), id))
	}))
}

func (o *ops) PurgeWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := o.write(ctx, func(o *ops) error {
		res, err := o.w().ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
			WHERE state <> 'pending' AND next_attempt_at < ? ORDER BY id LIMIT ?)`, tm0(before), limit)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		n = int(k)
		return err
	})
	return n, wrap("purge webhook deliveries", err)
}

func (o *ops) StartWebhookAttempt(ctx context.Context, id int64, attempt int, payload []byte) ([]byte, store.WebhookEndpoint, error) {
	var stored []byte
	var e store.WebhookEndpoint
	err := o.write(ctx, func(o *ops) error {
		var endpoint int64
		if err := o.w().QueryRowContext(ctx, `UPDATE webhook_deliveries SET payload = COALESCE(payload, ?)
			WHERE id = ? AND attempts = ? AND state = 'pending' RETURNING payload, endpoint_id`,
			payload, id, attempt).Scan(&stored, &endpoint); err != nil {
			return err
		}
		var err error
		e, err = scan.WebhookEndpoint(o.w().QueryRowContext(ctx, `SELECT `+scan.WebhookEndpointCols+`
			FROM webhook_endpoints WHERE id = ?`, endpoint))
		return err
	})
	return stored, e, wrap("start webhook attempt", err)
}

// noClient is the error of an endpoint whose client does not exist.
func noClient(err error, id int64) error {
	if errors.Is(err, sql.ErrNoRows) {
		return rules.Invalid("webhook endpoint of client %d, which does not exist", id)
	}
	return err
}

// endpointGone turns a replacement that matched no row into ErrConflict.
func endpointGone(err error, e *store.WebhookEndpoint) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: webhook endpoint %d is no longer %q", store.ErrConflict, e.ID, e.Name)
	}
	return err
}
