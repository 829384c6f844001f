// Package api is the example server's HTTP API: JSON over HTTP for the
// programs and people who run the channels (SMS sent one by one or in
// batches, their states and replies; tickets), documented with curl
// examples in API.md.
//
// Every route but /healthz needs credentials: an API token made with
// `server api-token` as "Authorization: Bearer TOKEN". A token made for a
// platform client (-client) sees and sends only that client's SMS and
// nothing else; a token without one sees everything.
//
// Errors are JSON objects {"error": "...", "field": "..."} with a 4xx or
// 5xx status; "field" names the parameter or body field at fault. Request
// bodies are limited (MaxBody, MaxBatchBody); lists are paginated by id
// ("after" and "limit", at most MaxLimit; the response's "next" is the
// "after" of the next page, 0 on the last one).
package api
