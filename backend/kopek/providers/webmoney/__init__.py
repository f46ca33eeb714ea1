"""WebMoney: a connector modelled on the X20 interface, and its sandbox simulator."""
