"""The control socket: its line protocol, its server on the loop, and the operator
that answers it from the loop's state."""
