"""tastytrade's instrument definitions and symbol search, as the SDK reads them: equities and
equity options (`equities`), futures, their products and options (`futures`), coins
(`crypto`), the search (`search`) and the route table with what the market does not have
(`routes`): no futures option chains, no warrants and no currency pairs, which answer as
tastytrade does for symbols it does not have (404 `record_not_found`, or an empty list)."""
