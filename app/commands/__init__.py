"""One class per business operation: validate() then run() in one transaction (see base.Command)."""
