"""The engine: the echo loop on its thread and everything it decides and does.

`Connection` decides about one client (no I/O), `EchoLoop` does all socket I/O,
`EventFeed` carries events to whoever watches. Nothing here imports the control
protocol's answers or the UI.
"""
