"""``stylist demo``: the install-free demo. It sits above index/ and training/ and may use both."""
