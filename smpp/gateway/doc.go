// Package gateway is an SMS platform on smpp and store: operators kept as
// configuration in the store, routing by destination prefix, clients'
// batches loaded from CSV, dispatch through each operator's binds with
// its window and TPS limit, retries, delivery receipts, replies (MO) and
// the queries a support desk asks ("did my message to this number
// arrive?").
//
// # Flow
//
// [Gateway.LoadCSV] validates a client's file row by row (bad rows are
// reported with their line and reason; the good ones are kept),
// normalizes numbers ([Numbering]) and routes them ([Router]: longest
// destination prefix, else the default operator; unroutable numbers are
// stored as failed, with the reason), and stores the batch in one
// transaction. Loading the same file again sends nothing twice, and an
// edited file only its new or changed rows: rows are keyed by client and
// external id, or, without one, by the batch name and the row's content
// (see Batch.Name).
//
// [Gateway.Run] reads the operators from the store every ReloadInterval
// (adding, changing, disabling or removing one takes effect without a
// restart) and runs each enabled one: Binds sessions kept bound by
// smpp.Supervise (tx, rx, trx or a tx+rx pair, TLS, window, enquire_link)
// and a dispatcher that claims the operator's queued transmissions while
// its windows have room, splits long texts, paces submits to the
// operator's TPS, and records each outcome: accepted (with a message id
// per part), retried later with exponential backoff after a temporary
// error (ESME_RTHROTTLED, ESME_RMSGQFUL, timeouts, lost connections) up
// to MaxAttempts, or failed with the SMPP status after a permanent one.
// # GSM modems
//
// An operator of kind store.KindModem is a GSM modem on a serial port
// (store.ModemSettings: device, baud rate, PIN, service centre), driven
// with package modem; Config.OpenModem opens it (a serial port by
// default). Prefixes, priorities, weights, TPS, failover, batches and
// replies work as for SMPP operators, so a route's messages go through
// SMPP, modems, or both; several modems with one prefix and one priority
// are a pool that shares it by weight. The gateway opens the modem, sets
// it up (PIN, PDU mode, indications), checks every 15 s that it answers
// and is registered on the network, and opens it again when it is lost
// (an unplugged stick) or stops answering, backing off to 30 s. A modem
// that is not registered, does not answer, or refuses to send for a
// reason of its own (+CMS ERROR 300 and up: no service centre number,
// no SIM) counts as unbound, so its messages fail over. A SIM that
// refuses the PIN is never given it again (a SIM locks after three wrong
// ones): the operator waits, its health saying why, until it is changed. It sends one part at a time,
// with status reports requested; a report becomes a receipt matched by
// message id "destination/reference" (the TP-MR the modem gave the
// part), its service centre time picking among submissions of a reused
// reference. Received SMS are stored as replies before the modem deletes
// them from the SIM; the SIM is listed again every 15 s, so that one
// whose storing failed is stored later, and one stored whose deletion
// was cut short is deleted without being stored twice. A part the modem refuses with a temporary +CMS ERROR
// is retried like an SMSC's temporary refusal; a permanent one fails the
// message with the modem's code and words. A part whose PDU was written
// and never answered (the modem hung, restarted or was unplugged right
// after) is uncertain, as a submit_sm without its response is, and the
// operator's gateway.resend policy decides (see Delivery guarantees). A
// modem operator takes the parameters gateway.resend, query_after (how
// often messages without a report are looked at), give_up_after,
// languages, split (udh8 or udh16) and report_date_tolerance, and
// submit_sm.validity_period (a duration), registered_delivery (0: no
// status reports) and data_coding (0 or 8).
//
// A modem reuses a message reference every 256 parts. A status report
// names the service centre time of its submission, with its zone: it
// goes to the submission of its id recorded within
// gateway.report_date_tolerance of that time (default 1m, for the two
// clocks' difference), so reports are told apart as long as a reference
// comes back no sooner than twice that (a real modem takes 15 to 25
// minutes for 256 parts).
//
// # Operator parameters
//
// store.OperatorParam entries the gateway understands (CheckOperator
// validates them):
//
//	submit_sm  service_type, source_addr_ton, source_addr_npi, dest_addr_ton,
//	           dest_addr_npi, esm_class, protocol_id, priority_flag,
//	           registered_delivery, replace_if_present_flag, data_coding,
//	           validity_period (an SMPP time, or a Go duration such as "48h")
//	bind       system_type, interface_version ("34" or "50"), addr_ton,
//	           addr_npi, address_range
//	gateway    receipt_id: "same" (default), "hex-dec" (submit_sm_resp ids
//	           in hex, receipts in decimal) or "dec-hex";
//	           split: "udh8" (default), "udh16", "sar" or "payload";
//	           response_timeout (a Go duration, default 30s);
//	           resend: "at-least-once" (default) or "at-most-once" (see
//	           Delivery guarantees); query_after (default 10m) and
//	           give_up_after (default the validity period given as a
//	           duration plus query_after, else 72h): see Receipts;
//	           tls_server_name
//
// An unknown command or name, or a bad value, keeps the operator from
// starting (logged at each reload).
//
// Receipts update their transmission (delivered, undeliverable, expired,
// rejected, unknown), matched by operator and message id, also when the
// SMSC writes ids in hex in submit_sm_resp and in decimal in receipts
// (operator parameter gateway.receipt_id). SMSCs reuse ids (after a
// restart or a failover, when a counter wraps): a receipt goes to the
// most recent submission of its id, and never changes a message that has
// its receipt already. A receipt that arrives before its submit_sm_resp
// is recorded is kept and applied when it is (within
// store.PendingReceiptWindow); one that matches nothing is kept aside
// with its text.
//
// A message whose receipt has not come query_after after its submission
// (receipts off, lost, or an SMSC that restarted) is asked about with
// query_sm, again every query_after; a final state in the answer is
// recorded as a receipt would be (Counters.QueriedFinal). One whose state
// nothing told within give_up_after ends unknown, with a reason saying so
// (Counters.NoReceipt): every batch ends. Replies are stored with their
// operator and short code and linked to the last message sent to that
// number; long replies are reassembled first. Receipts and replies are
// acknowledged to the SMSC only once stored.
//
// # Delivery guarantees
//
// Claims make several gateway processes on one PostgreSQL safe: a
// transmission is submitted by one process at a time. With no connection
// lost and no process dying, the SMSC gets exactly one submit_sm per
// message part: a submit_sm_resp that comes after the operator's response
// timeout is still used (smpp.TimeoutError.WaitLate, up to Config.
// SubmitTimeout; counted in Counters.Late), and the message is not sent
// again. Only when the protocol leaves no answer may a message have
// reached the SMSC without the gateway knowing:
//   - the session ends (connection lost, SMSC unbound) after the
//     submit_sm was written and before its response, or no response came
//     within SubmitTimeout (counted in Counters.Uncertain);
//   - a process dies between the submit_sm_resp and recording it: its
//     claim, no longer renewed by the process's heartbeat, goes stale,
//     and another process requeues it within StaleAfter (30s by default,
//     plus a third) with store.ReasonStaleClaim. A live process renews
//     its claims however long its submits take.
//
// What then happens is the operator's policy, its gateway.resend
// parameter. "at-least-once" (the default) puts the transmission back in
// the queue with a reason starting "may have reached the SMSC"; its next
// attempt is counted in Counters.PossibleDuplicates. "at-most-once" never
// sends it again: it ends in state unknown with that reason (counted in
// Counters.Unknown), for the operator's receipts or the client to settle.
// A long message some of whose parts the SMSC accepted, and the next of
// which may have reached it, ends unknown under either policy (sending it
// again would surely repeat the accepted parts), with those parts'
// message ids in its reason.
//
// Known limits of these guarantees:
//   - Claims are leases. A process whose database stalls for longer than
//     StaleAfter (renewals that cannot commit) looks dead to the other
//     processes, which requeue its claims; a submit it then completes is
//     a possible duplicate, counted by the process that sends it again.
//     Set StaleAfter well above the database's worst pause. A process's
//     own sweep never takes its own live claims.
//   - A claim that committed but whose commit the process never heard of
//     (the connection lost at the commit) is nobody's: it goes stale and
//     is requeued after StaleAfter. Nothing was submitted for it; it is
//     sent late, not twice.
//   - Receipts are matched by operator and message id. When the SMSC
//     reuses an id, the receipt's submit date (within
//     store.ReceiptDateTolerance, since SMSCs write it in their own time
//     zone) picks the submission; a submit date more than ten days from
//     the receipt's arrival is taken as written in another layout and
//     ignored. Two receipts of one id, state and minute count as one, so
//     a reused id's second such receipt is dropped as a repeat and its
//     message is settled by query_sm after query_after.
//
// An operator's TPS is enforced per gateway process (over all its binds):
// two processes sending through one operator each get the full rate.
//
// Outcomes are written in group commits (one transaction for whatever
// queued up meanwhile), so the store's commit rate does not bound the
// message rate; in it, accepted submissions and receipts are recorded a
// run at a time with store.RecordSubmits and store.ApplyReceipts (a few
// set-based statements each), with the outcome of storing them one by
// one in the order they came.
package gateway
