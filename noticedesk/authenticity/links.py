"""Links that pretend to be AWS: the visible text claims AWS, the target is somebody else's. Pure.

Only the URL string is looked at; nothing here (or anywhere in NoticeDesk) opens a link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from noticedesk.authenticity.knowledge import AuthPolicy


@dataclass(frozen=True)
class DeceptiveLink:
    text: str
    url: str
    host: str
    why: str
    why_ja: str


def host_of(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def deceptive_links(
    links: Iterable[tuple[str, str]],
    policy: AuthPolicy,
    is_aws: Callable[[str], bool],
    is_lookalike: Callable[[str], bool],
) -> tuple[DeceptiveLink, ...]:
    """``links`` are (visible text, target URL) pairs as the parser found them."""
    found: dict[str, DeceptiveLink] = {}
    for text, url in links:
        host = host_of(url)
        if not host or host in found:
            continue
        shown_host = host_of(text) if "://" in text else ""
        text_claims = bool(policy.link_claims.search(text)) if text.strip() != url.strip() else False
        looks_alike = not is_aws(host) and is_lookalike(host)
        claims = text_claims or (bool(shown_host) and is_aws(shown_host)) or looks_alike
        if not claims:
            continue
        if looks_alike:
            why, why_ja = "a lookalike of an AWS domain", "AWS に似せたドメイン"
        elif not is_aws(host):
            why, why_ja = "not an AWS domain", "AWS のドメインではありません"
        elif policy.is_customer_content(host):
            why, why_ja = (
                "content hosted by an AWS customer, not by AWS",
                "AWS ではなく AWS 利用者のコンテンツ",
            )
        else:
            continue
        found[host] = DeceptiveLink(" ".join(text.split())[:80], url, host, why, why_ja)
    return tuple(found.values())
