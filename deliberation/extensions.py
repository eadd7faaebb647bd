"""What the meetings app's own commands ask of apps above it (see common.extensions)."""

from common.extensions import ExtensionPoint

# (street, other street) -> the demo accounts it added, as (username, role, place) rows
# for the printed list. ``seed_demo`` asks it after its own data, inside its transaction;
# it must be idempotent like the rest of the seed. The visits app provides its teams,
# round and visits; nothing is added without it.
demo_seed = ExtensionPoint("deliberation.demo_seed", default=lambda street, other: [])
