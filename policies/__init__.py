"""Who may do what, and with what proof: Casbin policies, error codes, principals."""
