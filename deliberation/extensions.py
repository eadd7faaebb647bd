"""What the meetings app's own commands ask of apps above it (see common.extensions)."""

from common.extensions import KeyedExtensionPoint

# One key per app above the meetings app that adds demo data (its app label), answered by
# (street, other street) -> the demo accounts it added, as (username, role, place) rows for
# the printed list. ``seed_demo`` asks every key, in order, after its own data and inside
# its transaction; each answer must be idempotent like the rest of the seed.
demo_seed = KeyedExtensionPoint("deliberation.demo_seed")
