"""Who is AWS: the sender allow-list (data) and lookalike domains. Pure."""

from __future__ import annotations

import unicodedata

from noticedesk.notices.rules import RuleTable

# Letters that attackers swap in for Latin ones (Cyrillic, Greek, digits).
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "с": "c",
        "ѕ": "s",
        "м": "m",
        "з": "3",
        "α": "a",
        "ο": "o",
        "ν": "v",
        "0": "o",
        "1": "l",
        "ᴡ": "w",
        "ɑ": "a",
    }
)


def is_aws_domain(domain: str, table: RuleTable, extra: tuple[str, ...] = ()) -> bool:
    domain = domain.lower().rstrip(".")
    return any(
        domain == allowed or domain.endswith("." + allowed) for allowed in (*table.aws_domains, *extra)
    )


def _skeleton(domain: str) -> str:
    try:
        if any(label.startswith("xn--") for label in domain.split(".")):
            domain = domain.encode("ascii").decode("idna")
    except UnicodeError:
        pass
    folded = unicodedata.normalize("NFKC", domain).lower().translate(_CONFUSABLES)
    return folded.replace("rn", "m").replace("vv", "w")


def is_lookalike(domain: str, table: RuleTable, extra: tuple[str, ...] = ()) -> bool:
    """Not AWS's, yet it names AWS (``amazonaws-invoices.com``, ``аws.com`` in Cyrillic, punycode)."""
    if not domain or is_aws_domain(domain, table, extra):
        return False
    skeleton = _skeleton(domain)
    if skeleton != domain.lower() and is_aws_domain(skeleton, table, extra):
        return True
    labels = [label for label in skeleton.replace("-", ".").split(".") if label]
    return any(
        label.startswith(word) or (len(word) > 3 and word in label)
        for label in labels
        for word in table.brand_words
    )
