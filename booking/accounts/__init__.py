"""Staff accounts: roles, offices, passwords, API tokens, login throttling."""
