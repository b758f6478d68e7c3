"""Photo consent for the Class Story: staff see it per class and record paper forms; parents choose."""
