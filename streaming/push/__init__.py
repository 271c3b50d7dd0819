"""Web Push and e-mail: the events that reach a trader with no page open
(docs/streaming-contract.md "Push and e-mail")."""
