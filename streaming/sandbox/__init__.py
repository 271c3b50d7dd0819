"""A local, protocol-faithful fake of tastytrade for demos and tests.

The real, unmodified `tastytrade` SDK talks to it over real sockets: REST
(`rest.py`), the DXLink market-data websocket (`dxlink.py`) and the account
streamer websocket (`account_streamer.py`), all driven by one seeded market
(`market.py`) and one simulated brokerage (`brokerage.py`). Faults are injected
through a loopback-only control API (`control.py`). Nothing in the app imports
this package except the wiring that starts the demo.
"""
