"""Commands of the machine side: encode, export, check, machines (issue 3)."""
