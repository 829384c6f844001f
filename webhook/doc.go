// Package webhook sends the events a [store.Store] records to HTTP
// endpoints, and lets receivers check that a request came from it.
//
// # Where events come from
//
// The store writes a delivery for every endpoint that wants an event in
// the transaction that makes the change (see [store.WebhookStore]): an
// SMS accepted by its SMSC or reaching a final state ("sms.sent",
// "sms.delivered", ...: Kannel's dlr-url), every ticket event
// ("ticket.created", "ticket.state_changed", ...) and a conversation
// opened, given to an operator or closed ("chat.waiting", "chat.active",
// "chat.closed"). Whatever program changes the database (a gateway, a
// mail poller, a chat server, several of them on one PostgreSQL), no
// committed change is without its deliveries and none is lost to a crash.
//
// # Sending
//
// A [Dispatcher] claims due deliveries, POSTs each as a JSON [Event],
// and records the outcome: a 2xx answer delivers it; anything else
// (another status, a timeout, a refused connection, a redirect) is tried
// again after a capped exponential backoff, up to MaxTries, after which
// the delivery is failed and kept, to be replayed
// ([store.WebhookStore.ReplayWebhookDelivery]). Deliveries are claimed
// with a lease, so dispatchers in several processes share the work and a
// dispatcher that dies leaves its deliveries to the others when the lease
// ends.
//
// Delivery is at least once: a receiver that answers after the lease
// ends, or whose 2xx is lost on the way back, gets the event again.
// Receivers deduplicate on the event id (the Switchboard-Event-Id
// header and Event.ID), which is the same for every attempt and every
// endpoint. Events are not ordered: use Event.At and the subject's state.
//
// # Signatures
//
// Each request carries
//
//	Switchboard-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// where v1 is the hex HMAC-SHA256, under the endpoint's secret, of the
// Unix time t, a dot and the body. [Verify] checks it and refuses a time
// too far from now, so that a captured request cannot be replayed later.
package webhook
