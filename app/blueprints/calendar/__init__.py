"""The school calendar (term dates, closures, the school's hours) and staff working hours."""
