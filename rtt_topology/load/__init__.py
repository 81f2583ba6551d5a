"""Read beacon histories and profiles from files into validated tables."""
