"""A Django app whose async views call the Afisha core."""
