"""Services: every write and every rule that spans models. No ``request`` or ``session`` here."""
