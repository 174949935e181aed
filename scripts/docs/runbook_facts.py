"""Print the "Facts and their AWS sources" table of docs/runbooks.md from the runbook data.

Usage: .venv/bin/python scripts/docs/runbook_facts.py > /tmp/facts.md, then paste it over the
table in docs/runbooks.md (tests/test_runbooks.py checks every cited page is there).
"""

from __future__ import annotations

from noticedesk.cases.runbooks import runbook, runbook_names


def main() -> None:
    print("| runbook | fact | AWS source (English · Japanese) |")
    print("|---|---|---|")
    for name in runbook_names():
        for fact in runbook(name).facts:
            japanese = f" · [ja]({fact.url_ja})" if fact.url_ja else " · (no Japanese page found)"
            text = fact.en.replace("|", "\\|")
            print(f"| `{name}` | {text} | [{fact.source}]({fact.url}){japanese} |")


if __name__ == "__main__":
    main()
