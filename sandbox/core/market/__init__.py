"""The simulated market: what it lists (`listings`, `futures`), how it walks (`walk`, `state`)
and what it tells (`events`, `option_candles`); imports nothing of the brokerage."""
