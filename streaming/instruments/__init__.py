"""Instruments: what each symbol names, how every place spells it, what it is worth and how
each broker trades it (one instrument, one price: docs/streaming-contract.md, "Instruments")."""
