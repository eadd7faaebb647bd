"""The ten must-deliberate categories (十必议) and "other", seeded for every street."""

from __future__ import annotations

from issues.models import Category
from members.models import Street

DEFAULT_CATEGORIES: list[tuple[str, str, str, bool]] = [
    ("policy", "政策落实", "Policy implementation", True),
    ("interests", "居民利益", "Residents' interests", True),
    ("facilities", "公共设施", "Public facilities", True),
    ("environment", "环境卫生", "Environment and sanitation", True),
    ("security", "治安安全", "Public security", True),
    ("management", "日常管理", "Daily community management", True),
    ("stability", "社会稳定", "Social stability", True),
    ("neighbours", "邻里纠纷", "Neighbour disputes", True),
    ("appeals", "居民诉求", "Residents' appeals", True),
    ("livelihood", "民生保障", "Livelihood protection", True),
    ("other", "其他", "Other", False),
]


def seed_categories(street: Street) -> None:
    """Create the default categories a street lacks; never changes edited ones."""
    for position, (code, name, name_en, must) in enumerate(DEFAULT_CATEGORIES):
        Category.objects.get_or_create(
            street=street,
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "must_deliberate": must,
                "position": position,
            },
        )
