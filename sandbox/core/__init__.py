"""The simulated world every façade renders; imports no broker protocol."""
