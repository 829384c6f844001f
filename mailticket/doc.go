// Package mailticket turns support mail into tickets: mailboxes fetched
// over IMAP, POP3 or from a Maildir, each mail parsed, deduplicated,
// threaded into its ticket or opening a new one, routed into a queue by
// filters, answered with a template without mail loops, and kept through
// the store (package store) with its attachments.
//
// # Pipeline
//
// A [Poller] runs [Source]s ([IMAP], [POP3], [Maildir]) through a
// [Processor] and sends the queued replies with a [Sender]
// ([SMTPSender]). Per mail, in order:
//
//   - size check before parsing (oversized mail is quarantined);
//   - [Parse]: go-message with its charset tables, RFC 2047 headers,
//     quoted-printable and base64 bodies, text/plain preferred and HTML
//     turned into text when it is the only body, attachments with RFC 2231
//     names (sanitized) within [Limits], inline images, delivery reports;
//   - deduplication by the source key (account, mailbox, UIDVALIDITY and
//     UID; POP3 UIDL; Maildir name) and the content key (Message-ID and
//     body digest);
//   - follow-up detection: one of our Message-IDs (they carry the ticket
//     number and a MAC) in In-Reply-To or References, then any stored
//     article's Message-ID, then the subject tag [Ticket#NUMBER], the
//     last only when the sender already took part in that ticket (else a
//     new ticket linked to it); a follow-up to a closed ticket reopens it,
//     opens a new one or is rejected, per queue ([ClosedPolicy]);
//   - [Filter]s, in order, postmaster style: sender domain and header
//     regular expressions set queue, priority, customer and company, or
//     ignore the mail;
//   - the customer (by address) and company (by domain);
//   - the automatic reply ([Template] per queue and [Event]) unless the
//     mail is automated (RFC 3834 Auto-Submitted, Precedence, list
//     headers, our X-Loop, an empty Return-Path, noreply senders, our own
//     addresses) or the sender had enough replies ([RateLimit]); replies
//     carry Auto-Submitted: auto-replied, X-Auto-Response-Suppress: All,
//     our X-Loop, In-Reply-To and References, and the subject tag;
//   - one transaction: the ticket (or the follow-up), the article, its
//     attachments, the receipt under both keys, the reply article and the
//     queued reply;
//   - the mailbox action (\Seen, UID MOVE, UID EXPUNGE; POP3 DELE; Maildir
//     new/ to cur/), only after the commit.
//
// # Exactly once
//
// The receipt is stored in the transaction that changes the ticket, and
// the mailbox is touched only after the commit. A crash before the
// commit leaves nothing stored and the mail in the mailbox; a crash after
// it leaves the mail in the mailbox, and fetching it again finds the
// receipt: a [Duplicate], acted on and forgotten. Replies wait in the
// store's outbox until [Processor.SendQueued] hands them to the mail
// server; a crash between the hand-over and its record sends that reply
// twice (SMTP has no exactly-once), with the same Message-ID. Mail that
// cannot be used (too large, unparseable, empty, refused by the store) is
// quarantined with its bytes and the reason, and processing goes on.
//
// Sources hand mail over in batches ([MaxBatch], [MaxBatchBytes]); a
// store with transactions (store.Store) stores a batch in one commit.
//
// # Concurrency
//
// A Processor is safe for concurrent use and processes one batch at a
// time. Each source is used by one goroutine at a time; [Poller.Run]
// gives each source its own. Several processes may share one store
// (PostgreSQL) and poll the same mailboxes: a mail two of them fetch is
// stored once (its receipt) and acted on (flagged, moved, deleted) by
// the one that stored it (the other leaves it for [DuplicateGrace], in
// case that one died before acting), and each reply in the outbox is
// claimed by the one that sends it ([Processor.SendQueued]). Mail that
// stores no receipt of its own source (quarantined, ignored by a filter,
// or stored before from another mailbox) may still be acted on by both.
// Nothing here logs unless given a
// *slog.Logger, and nothing blocks without a context: the IMAP client
// (go-imap v2, which has no context support) is closed by a watchdog when
// the context ends.
//
// # Agents and statistics
//
// [Processor.Reply] sends an agent's answer (the ticket's first response);
// the store changes states, owners and queues and merges tickets;
// [Processor.Remind] reopens pending tickets whose reminder time came;
// [Processor.Notify] tells agents of new tickets, follow-ups and
// reminders; [Statistics] reports tickets created and closed per queue and
// customer, first-response and resolution times and the backlog.
package mailticket
