"""A local, protocol-faithful fake of tastytrade, Tradier and Alpaca for demos and tests.

The real, unmodified SDKs talk to it over real sockets. `core/` is the simulated world
(one market, one brokerage, credentials, faults, live sockets) and imports no protocol;
`tastytrade/`, `tradier/` and `alpaca/` each render it in that broker's wire format;
`http.py` holds what they share; `control.py` is the loopback-only control API; `app.py`
assembles the routes and is the only module that imports the façades. Nothing in the app
imports this package except the wiring that starts the demo.
"""
