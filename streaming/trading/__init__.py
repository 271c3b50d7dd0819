"""Trading from the screen: preview, confirm, place, cancel, replace, close — never twice.

docs/streaming-contract.md, "Trading", is the contract: who may trade, the endpoints, the
idempotency rules, the kill switch and the audit trail.
"""
