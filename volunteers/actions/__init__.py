"""Writes of the volunteers app, one module per topic: teams, activities, ledger."""
