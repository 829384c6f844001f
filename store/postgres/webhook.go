package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
			if err := o.tx.QueryRow(ctx, `SELECT 1 FROM sms_clients WHERE id = $1`, e.ClientID).Scan(&one); err != nil {
				return noClient(err, e.ClientID)
			}
		}
		if e.ID == 0 {
			return o.tx.QueryRow(ctx, `INSERT INTO webhook_endpoints (name, url, secret, on_sms, on_ticket, on_chat,
				client_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, created_at`,
				e.Name, e.URL, e.Secret, e.Has(store.TopicSMS), e.Has(store.TopicTicket),
				e.Has(store.TopicChat), e.ClientID, e.CreatedAt).Scan(&e.ID, scan.Time(&e.CreatedAt))
		}
		return endpointGone(o.tx.QueryRow(ctx, `UPDATE webhook_endpoints SET url = $1, secret = $2, on_sms = $3, on_ticket = $4,
			on_chat = $5, client_id = $6 WHERE id = $7 AND name = $8 RETURNING created_at`,
			e.URL, e.Secret, e.Has(store.TopicSMS), e.Has(store.TopicTicket), e.Has(store.TopicChat), e.ClientID,
			e.ID, e.Name).Scan(scan.Time(&e.CreatedAt)), e)
	}))
}

func (o *ops) WebhookEndpoints(ctx context.Context) ([]store.WebhookEndpoint, error) {
	rows, err := o.q().Query(ctx, `SELECT `+scan.WebhookEndpointCols+` FROM webhook_endpoints ORDER BY name`)
	if err != nil {
		return nil, wrap("webhook endpoints", err)
	}
	return collect(rows, scan.WebhookEndpoint, "webhook endpoints")
}

func (o *ops) DeleteWebhookEndpoint(ctx context.Context, name string) error {
	return wrap("delete webhook endpoint", o.write(ctx, func(o *ops) error {
		return affected(o.tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE name = $1`, name))
	}))
}

func (o *ops) ClaimWebhookDeliveries(ctx context.Context, n int, now time.Time, lease time.Duration) ([]store.WebhookDelivery, error) {
	if n <= 0 {
		return nil, nil
	}
	now = rules.Or(now)
	var ds []store.WebhookDelivery
	err := o.write(ctx, func(o *ops) error {
		rows, err := o.tx.Query(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1
			WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $2
				ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING `+scan.WebhookDeliveryCols, now.Add(lease), now, n)
		if err != nil {
			return err
		}
		ds, err = collect(rows, scan.WebhookDelivery, "claim webhook deliveries")
		return err
	})
	if err != nil {
		return nil, wrap("claim webhook deliveries", err) // rolled back (or unknown): none is counted as claimed
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
		return affected(o.tx.Exec(ctx, `UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2,
			delivered_at = $3, last_status = $4, last_error = $5, payload = COALESCE(payload, $6), finished = attempts
			WHERE id = $7 AND attempts = $8 AND state = 'pending'`,
			state, next, tm(delivered), a.Status, a.Error, a.Payload, a.ID, a.Attempt))
	}))
}

func (o *ops) WebhookDelivery(ctx context.Context, id int64) (store.WebhookDelivery, error) {
	d, err := scan.WebhookDelivery(o.q().QueryRow(ctx, `SELECT `+scan.WebhookDeliveryCols+`
		FROM webhook_deliveries WHERE id = $1`, id))
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.EndpointIDs != nil {
		where = append(where, `endpoint_id = ANY(`+arg(f.EndpointIDs)+`)`)
	}
	if f.State != "" {
		where = append(where, `state = `+arg(string(f.State)))
	}
	if f.BeforeID > 0 {
		where = append(where, `id < `+arg(f.BeforeID))
	}
	q := `SELECT ` + scan.WebhookDeliveryCols + ` FROM webhook_deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := o.q().Query(ctx, q+` ORDER BY id DESC LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, wrap("webhook deliveries", err)
	}
	return collect(rows, scan.WebhookDelivery, "webhook deliveries")
}

func (o *ops) ReplayWebhookDelivery(ctx context.Context, id int64, now time.Time) error {
	return wrap("replay webhook delivery", o.write(ctx, func(o *ops) error {
		return affected(o.tx.Exec(ctx, `UPDATE webhook_deliveries SET
			replay_base = CASE WHEN state = 'pending' THEN replay_base ELSE attempts END,
			next_attempt_at = CASE WHEN state = 'pending' AND finished < attempts THEN next_attempt_at ELSE $1 END,
			state = 'pending', delivered_at = NULL WHERE id = $2`, rules.Or(now), id))
	}))
}

func (o *ops) PurgeWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := o.write(ctx, func(o *ops) error {
		tag, err := o.tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries
			WHERE state <> 'pending' AND next_attempt_at < $1 ORDER BY id LIMIT $2)`, before, limit)
		n = int(tag.RowsAffected())
		return err
	})
	return n, wrap("purge webhook deliveries", err)
}

func (o *ops) StartWebhookAttempt(ctx context.Context, id int64, attempt int, payload []byte) ([]byte, store.WebhookEndpoint, error) {
	var stored []byte
	var e store.WebhookEndpoint
	err := o.write(ctx, func(o *ops) error {
		var endpoint int64
		if err := o.tx.QueryRow(ctx, `UPDATE webhook_deliveries SET payload = COALESCE(payload, $1)
			WHERE id = $2 AND attempts = $3 AND state = 'pending' RETURNING payload, endpoint_id`,
			payload, id, attempt).Scan(&stored, &endpoint); err != nil {
			return err
		}
		var err error
		e, err = scan.WebhookEndpoint(o.tx.QueryRow(ctx, `SELECT `+scan.WebhookEndpointCols+`
			FROM webhook_endpoints WHERE id = $1`, endpoint))
		return err
	})
	return stored, e, wrap("start webhook attempt", err)
}

// noClient is the error of an endpoint whose client does not exist.
func noClient(err error, id int64) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return rules.Invalid("webhook endpoint of client %d, which does not exist", id)
	}
	return err
}

// endpointGone turns a replacement that matched no row into ErrConflict.
func endpointGone(err error, e *store.WebhookEndpoint) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: webhook endpoint %d is no longer %q", store.ErrConflict, e.ID, e.Name)
	}
	return err
}
